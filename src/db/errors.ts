import { unavailable } from "../errors.js";

const CONNECTION_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "ER_CON_COUNT_ERROR",
  "ER_SERVER_SHUTDOWN",
  "ER_QUERY_INTERRUPTED",
  "ER_LOCK_WAIT_TIMEOUT",
]);

/** True for errors that mean "MySQL cannot be reached right now", as opposed to a bad query. */
export function isMysqlUnreachable(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: string }).code;
    if (code && CONNECTION_ERROR_CODES.has(code)) return true;
    const msg = String((e as Error).message ?? "");
    if (/Queue limit reached|Pool is closed|closed state|connect ETIMEDOUT/i.test(msg)) return true;
  }
  return false;
}

/** Runs a MySQL call on a request path, turning an outage into `unavailable`. */
export async function withMysql<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isMysqlUnreachable(err)) throw unavailable(`the campaign database (MySQL) is unavailable; ${what}`, err);
    throw err;
  }
}

/** Runs a Redis call on a request path: any failure there means the pool is unreachable. */
export async function withRedis<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw unavailable(`the coupon pool (Redis) is unavailable; ${what}`, err);
  }
}
