import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import addFormats from "ajv-formats";
import OpenAPIBackend from "openapi-backend";

/** Points the simulator at another copy of the Exoscale API document. */
export const OPENAPI_DOCUMENT_ENV = "AGENT_FLEET_EXOSCALE_OPENAPI";

/**
 * The official Exoscale API v2 document, which is the contract for the client and the simulator:
 * `../shared/exoscale/openapi-v2.json` beside the repository (CI always checks `../shared` out next to
 * the clone; its SOURCE.md names the upstream), unless AGENT_FLEET_EXOSCALE_OPENAPI names another path.
 */
export function openApiDocumentPath(env: NodeJS.ProcessEnv = process.env): string {
  return env[OPENAPI_DOCUMENT_ENV] || resolve(__dirname, "../../../../shared/exoscale/openapi-v2.json");
}

/** One line naming the expected path, or undefined when the document is there. */
export function missingDocumentMessage(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const path = openApiDocumentPath(env);
  if (existsSync(path)) return undefined;
  return (
    `Exoscale simulator cannot start: no API document at ${path} (check ../shared out beside this clone, ` +
    `or set ${OPENAPI_DOCUMENT_ENV}); the simulator's tests fail until then`
  );
}

function readOpenApiDocument(path: string): unknown {
  if (!existsSync(path)) throw new Error(missingDocumentMessage({ [OPENAPI_DOCUMENT_ENV]: path }));
  return JSON.parse(readFileSync(path, "utf8"));
}

/**
 * The document is OpenAPI 3.0, whose schemas spell exclusive bounds as booleans next to
 * `minimum`/`maximum` (`"minimum": 1, "exclusiveMinimum": false`). Ajv (inside openapi-backend) speaks
 * JSON Schema draft-07, where `exclusiveMinimum` is the bound itself. This rewrites the 3.0 spelling
 * into the draft-07 one — the same constraint — and changes nothing else.
 */
export function normalizeOas30Bounds(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(normalizeOas30Bounds);
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = normalizeOas30Bounds(v);
  for (const [flag, bound] of [
    ["exclusiveMinimum", "minimum"],
    ["exclusiveMaximum", "maximum"],
  ] as const) {
    if (typeof out[flag] === "boolean") {
      if (out[flag] === true && typeof out[bound] === "number") {
        out[flag] = out[bound];
        delete out[bound];
      } else {
        delete out[flag];
      }
    }
  }
  return out;
}

export interface RequestValidation {
  operationId?: string;
  /** Human-readable validation errors; empty = valid. */
  errors: string[];
}

/** A request validator for the whole document, backed by openapi-backend (Ajv). */
export class OpenApiRequestValidator {
  private constructor(private readonly api: OpenAPIBackend) {}

  static async load(path = openApiDocumentPath()): Promise<OpenApiRequestValidator> {
    const definition = normalizeOas30Bounds(readOpenApiDocument(path));
    // quick: skip openapi-backend's own meta-validation of the document (it applies OAS 3.1 /
    // draft-07 rules to this 3.0 document and prints thousands of warnings); validators are
    // compiled lazily per operation.
    const api = new OpenAPIBackend({
      definition: definition as never,
      apiRoot: "/v2",
      quick: true,
      validate: true,
      strict: false,
      ajvOpts: { strict: false, validateFormats: true, allErrors: true },
      // Formats the document uses (uuid, ipv4, date-time, uri-reference) are checked by ajv-formats;
      // OpenAPI's own numeric formats (int64, ...) are type annotations, accepted as such.
      customizeAjv: (ajv) => {
        addFormats(ajv);
        for (const f of ["int32", "int64", "float", "double", "byte", "binary", "password"]) ajv.addFormat(f, true);
        return ajv;
      },
    });
    await api.init();
    return new OpenApiRequestValidator(api);
  }

  /** Matches the operation and validates path params, query and body. */
  validate(req: {
    method: string;
    path: string;
    query: Record<string, string>;
    body: unknown;
    headers: Record<string, string>;
  }): RequestValidation {
    const operation = this.api.router.matchOperation(req);
    if (!operation)
      return { errors: [`no operation ${req.method.toUpperCase()} ${req.path} in the Exoscale API document`] };
    const result = this.api.validator.validateRequest(req, operation);
    const errors = (result.errors ?? []).map((e) => {
      const where = e.instancePath || "";
      const extra =
        e.keyword === "enum" && e.params && "allowedValues" in e.params
          ? ` (${(e.params.allowedValues as unknown[]).join(", ")})`
          : e.keyword === "additionalProperties" && e.params && "additionalProperty" in e.params
            ? ` (${String(e.params.additionalProperty)})`
            : "";
      return `${where.replace(/^\//, "").replace(/\//g, ".") || "request"} ${e.message ?? e.keyword}${extra}`;
    });
    return { operationId: operation.operationId, errors };
  }

  /** Validates a 200 answer against the operation's response schema (the simulator checks itself). */
  validateResponse(operationId: string, body: unknown): string[] {
    const result = this.api.validator.validateResponse(body, operationId, 200);
    return (result.errors ?? []).map(
      (e) => `${(e.instancePath || "response").replace(/^\//, "").replace(/\//g, ".")} ${e.message ?? e.keyword}`,
    );
  }
}
