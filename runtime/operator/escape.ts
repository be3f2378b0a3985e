/**
 * The one place where agent-controlled text is made safe for a human to read. Everything an
 * agent writes (task results, log lines, patches, error messages) may carry terminal control
 * sequences that move the cursor, erase lines, rewrite the window title or hyperlinks (CSI, OSC,
 * CR overwrite), or Unicode bidirectional controls that make text display in another order than
 * it is stored ("Trojan Source"). A reviewer must see exactly the bytes that will be applied, so:
 *
 * - newline and tab pass through (multi-line text) — everything else below U+0020, DEL and the C1
 *   range U+0080–U+009F become visible escapes (`\x1b`, `\r`, `\u009b`), so no sequence reaches
 *   the terminal: an ESC is printed as the four characters `\x1b`;
 * - bidirectional overrides, embeddings, isolates and marks become a loud marker
 *   (`[BIDI U+202E RLO]`) and are counted, so callers can warn once more at the end;
 * - invisible format characters (zero-width space/joiners, word joiner, BOM, soft hyphen, line and
 *   paragraph separators) and lone surrogates become `\uXXXX`;
 * - bytes that are not valid UTF-8 (escapeBytes) become `\xNN` instead of a replacement character.
 *
 * A literal backslash is left alone (source code is full of them), so an agent can write the text
 * `\x1b` itself; that hides nothing (it is shown as written), and the counts returned here — which
 * the agent cannot fake — say how many characters were really escaped.
 */

/** Bidirectional formatting characters (Unicode Bidi_Control), with their short names. */
const BIDI_NAMES: Record<number, string> = {
  0x061c: "ALM",
  0x200e: "LRM",
  0x200f: "RLM",
  0x202a: "LRE",
  0x202b: "RLE",
  0x202c: "PDF",
  0x202d: "LRO",
  0x202e: "RLO",
  0x2066: "LRI",
  0x2067: "RLI",
  0x2068: "FSI",
  0x2069: "PDI",
};

/** Invisible or line-breaking format characters shown as `\uXXXX`. */
function isInvisible(cp: number): boolean {
  return (
    cp === 0x00ad || // soft hyphen
    cp === 0x180e || // Mongolian vowel separator
    (cp >= 0x200b && cp <= 0x200d) || // zero-width space, non-joiner, joiner
    (cp >= 0x2028 && cp <= 0x2029) || // line / paragraph separator
    (cp >= 0x2060 && cp <= 0x2065) || // word joiner, invisible operators (and the reserved U+2065)
    (cp >= 0xfff9 && cp <= 0xfffb) || // interlinear annotation
    cp === 0xfeff || // BOM / zero-width no-break space
    (cp >= 0xd800 && cp <= 0xdfff) // a lone surrogate (a pair is decoded before this test)
  );
}

function isControl(cp: number): boolean {
  return cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp <= 0x9f);
}

/**
 * Characters JSON.stringify leaves raw but a terminal or browser may act on: DEL, C1, bidi
 * controls and the invisible/line-separator characters above. Used by {@link toSafeJson}.
 */
const JSON_UNSAFE = /[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g;

export interface EscapeOptions {
  /** Keep newlines (multi-line text such as a patch); otherwise `\n` is shown as `\n`. Default true. */
  multiline?: boolean;
}

/** Text made safe for a terminal, with the number of characters escaped and bidi controls flagged. */
export interface Escaped {
  text: string;
  /** Control, invisible and invalid-UTF-8 characters shown as escapes. */
  escaped: number;
  /** Bidirectional control characters shown as `[BIDI …]` markers. */
  bidi: number;
}

const hex2 = (n: number) => n.toString(16).padStart(2, "0");
const hex4 = (n: number) => n.toString(16).padStart(4, "0");

function controlEscape(cp: number): string {
  if (cp === 0x0d) return "\\r";
  if (cp === 0x0a) return "\\n";
  if (cp === 0x09) return "\\t";
  return cp < 0x80 ? `\\x${hex2(cp)}` : `\\u${hex4(cp)}`;
}

/** Appends code points, escaping as documented above. */
class Escaper {
  private parts: string[] = [];
  escaped = 0;
  bidi = 0;
  constructor(private readonly multiline: boolean) {}

  push(cp: number): void {
    if (cp === 0x0a || cp === 0x09) {
      if (this.multiline) {
        this.parts.push(String.fromCharCode(cp));
        return;
      }
      this.escaped++;
      this.parts.push(controlEscape(cp));
      return;
    }
    if (isControl(cp)) {
      this.escaped++;
      this.parts.push(controlEscape(cp));
      return;
    }
    const bidi = BIDI_NAMES[cp];
    if (bidi) {
      this.bidi++;
      this.parts.push(`[BIDI U+${hex4(cp).toUpperCase()} ${bidi}]`);
      return;
    }
    if (isInvisible(cp)) {
      this.escaped++;
      this.parts.push(`\\u${hex4(cp)}`);
      return;
    }
    this.parts.push(String.fromCodePoint(cp));
  }

  invalidByte(b: number): void {
    this.escaped++;
    this.parts.push(`\\x${hex2(b)}`);
  }

  result(): Escaped {
    return { text: this.parts.join(""), escaped: this.escaped, bidi: this.bidi };
  }
}

/** Escapes a string (already decoded; lone surrogates are shown as `\uXXXX`). */
export function escapeText(s: string, opts: EscapeOptions = {}): Escaped {
  const e = new Escaper(opts.multiline ?? true);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        e.push(0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00));
        i++;
        continue;
      }
    }
    e.push(c);
  }
  return e.result();
}

/**
 * Escapes raw bytes, decoding UTF-8 strictly: an invalid, overlong, truncated or surrogate
 * sequence shows each of its bytes as `\xNN` rather than a replacement character, so the reviewer
 * sees the bytes that will be applied.
 */
export function escapeBytes(b: Uint8Array, opts: EscapeOptions = {}): Escaped {
  const e = new Escaper(opts.multiline ?? true);
  let i = 0;
  while (i < b.length) {
    const b0 = b[i]!;
    if (b0 < 0x80) {
      e.push(b0);
      i++;
      continue;
    }
    let need = 0;
    let cp = 0;
    let min = 0;
    if (b0 >= 0xc2 && b0 <= 0xdf) [need, cp, min] = [1, b0 & 0x1f, 0x80];
    else if (b0 >= 0xe0 && b0 <= 0xef) [need, cp, min] = [2, b0 & 0x0f, 0x800];
    else if (b0 >= 0xf0 && b0 <= 0xf4) [need, cp, min] = [3, b0 & 0x07, 0x10000];
    let ok = need > 0;
    for (let k = 1; ok && k <= need; k++) {
      const bk = b[i + k];
      if (bk === undefined || (bk & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (bk & 0x3f);
    }
    if (ok && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) ok = false;
    if (!ok) {
      e.invalidByte(b0);
      i++;
      continue;
    }
    e.push(cp);
    i += need + 1;
  }
  return e.result();
}

/** Shorthand: the escaped text of one value for a single-line cell (newlines and tabs escaped). */
export function safeLine(s: string): string {
  return escapeText(s, { multiline: false }).text;
}

/**
 * JSON for humans and programs alike: JSON.stringify escapes C0 controls and lone surrogates
 * already; this also escapes DEL, C1, bidi controls, U+2028/2029 and invisible format characters
 * as `\uXXXX`. Those characters can only occur inside JSON strings, so the replacement never
 * touches the structure, and JSON.parse gives back exactly the original value.
 */
export function toSafeJson(v: unknown, indent?: number): string {
  return JSON.stringify(v, null, indent).replace(JSON_UNSAFE, (c) => `\\u${hex4(c.charCodeAt(0))}`);
}
