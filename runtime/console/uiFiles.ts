import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The web UI: hand-written static files (runtime/console/ui/, copied next to this module by the
 * build) plus `escape.js`, the operator library's escaping module (runtime/operator/escape.ts)
 * wrapped for the browser, so the page escapes agent-controlled text by the very same rules as
 * agentctl. All are read once at start; nothing else on disk is ever served.
 */
export interface UiFile {
  type: string;
  body: Buffer;
}

const UI_DIR = path.join(__dirname, "ui");
const ESCAPE_MODULE = path.join(__dirname, "..", "operator", "escape.js");

const STATIC: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
};

function read(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new Error(`console UI file ${file} is missing (is the runtime build complete?): ${(err as Error).message}`);
  }
}

/** The compiled CommonJS module, run in a function scope with its own `exports`. */
function browserEscapeModule(): Buffer {
  const source = read(ESCAPE_MODULE).toString("utf8");
  if (/\brequire\(/.test(source))
    throw new Error(`${ESCAPE_MODULE} imports other modules: it can no longer be served to the browser as it is`);
  return Buffer.from(
    "// runtime/operator/escape.ts, as compiled: the escaping rules agentctl uses, for the console UI.\n" +
      '(function () {\n"use strict";\nvar exports = {};\n' +
      source +
      "\n" +
      "self.AgentFleetEscape = Object.freeze({ escapeText: exports.escapeText, escapeBytes: exports.escapeBytes });\n})();\n",
  );
}

/** URL path → file, for GET and HEAD. */
export function loadUi(): Map<string, UiFile> {
  const files = new Map<string, UiFile>();
  for (const [name, type] of Object.entries(STATIC))
    files.set(`/ui/${name}`, { type, body: read(path.join(UI_DIR, name)) });
  files.set("/", files.get("/ui/index.html")!);
  files.set("/ui/escape.js", { type: "text/javascript; charset=utf-8", body: browserEscapeModule() });
  return files;
}
