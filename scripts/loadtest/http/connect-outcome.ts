/**
 * Turns a Connect unary JSON answer into what the load test counts: a code and sequence on
 * success, a Connect error code otherwise. Codes come from the body's `code` field, never from
 * message text; a body that is not a Connect error falls back to Connect's HTTP-status mapping.
 */
export type IssueOutcome =
  | { ok: true; code: string; sequence: number }
  | { ok: false; error: string; message: string };

/** Connect's rule for answers without a usable error body (connect protocol, "HTTP to error code"). */
export function connectCodeOfHttpStatus(status: number): string {
  switch (status) {
    case 400:
      return "internal";
    case 401:
      return "unauthenticated";
    case 403:
      return "permission_denied";
    case 404:
      return "unimplemented";
    case 429:
    case 502:
    case 503:
    case 504:
      return "unavailable";
    default:
      return "unknown";
  }
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

export function connectError(status: number, body: string): { error: string; message: string } {
  const parsed = parseJson(body) as { code?: unknown; message?: unknown } | undefined;
  if (parsed && typeof parsed.code === "string") {
    return { error: parsed.code, message: typeof parsed.message === "string" ? parsed.message : "" };
  }
  return { error: connectCodeOfHttpStatus(status), message: `HTTP ${status}: ${body.slice(0, 120)}` };
}

export function issueOutcomeOf(status: number, body: string): IssueOutcome {
  if (status !== 200) return { ok: false, ...connectError(status, body) };
  const parsed = parseJson(body) as { couponCode?: unknown; sequence?: unknown } | undefined;
  if (!parsed || typeof parsed.couponCode !== "string") {
    return { ok: false, error: "internal", message: `HTTP 200 without a coupon code: ${body.slice(0, 120)}` };
  }
  // int64 travels as a string in Connect JSON; a zero value is omitted.
  return { ok: true, code: parsed.couponCode, sequence: Number(parsed.sequence ?? 0) };
}
