import type * as http from "node:http";

/**
 * Errors as RFC 9457 problem details (`application/problem+json`): `title` is the status's
 * phrase, `detail` says what is wrong, `field` names the request field at fault (body field,
 * query or path parameter, or header).
 */
export interface Problem {
  type: "about:blank";
  title: string;
  status: number;
  detail: string;
  field?: string;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (field: string, message: string) => new HttpError(400, message, field);
export const notFound = (message: string) => new HttpError(404, message);
export const conflict = (message: string, field?: string) => new HttpError(409, message, field);

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export function problemOf(err: HttpError): Problem {
  return {
    type: "about:blank",
    title: TITLES[err.status] ?? "Error",
    status: err.status,
    detail: err.message,
    ...(err.field !== undefined ? { field: err.field } : {}),
  };
}

export function sendProblem(res: http.ServerResponse, err: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(problemOf(err));
  res.writeHead(err.status, {
    ...err.headers,
    "Content-Type": "application/problem+json",
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}
