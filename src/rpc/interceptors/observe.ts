import { randomUUID } from "node:crypto";
import { ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import type { Logger } from "pino";
import { isAdminMethod } from "../../ops/admin-auth.js";
import type { Metrics } from "../../ops/metrics.js";

/** The request's child logger (with its request id), for interceptors and handlers further in. */
export const requestLoggerKey = createContextKey<Logger | undefined>(undefined);

const REQUEST_ID_HEADER = "x-request-id";
/** A caller's request id is kept when it looks like one; anything else is replaced. */
const ACCEPTED_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

function campaignIdOf(message: unknown): string | undefined {
  const id = (message as { campaignId?: unknown } | undefined)?.campaignId;
  return typeof id === "bigint" && id > 0n ? String(id) : undefined;
}

/**
 * The outermost interceptor of the connect-es path: gives each call a request id (the caller's
 * `x-request-id` or a new one, echoed in the answer's headers), counts and times it, and logs
 * one line per call: at info for admin methods (an audit trail of who changed what), at debug
 * for everything else, so the hot path writes nothing at the default level. IssueCoupon calls
 * that come this way (`ISSUE_PATH=connect`, or odd requests the fast handler hands over) are
 * counted in the same issue metrics as the fast handler's.
 */
export function observeInterceptor(options: { logger: Logger; metrics: Metrics }): Interceptor {
  const { logger, metrics } = options;
  return (next) => async (req) => {
    const started = performance.now();
    const given = req.header.get(REQUEST_ID_HEADER);
    const reqId = given && ACCEPTED_REQUEST_ID.test(given) ? given : randomUUID();
    const method = req.method.name;
    const log = logger.child({ reqId, method });
    req.contextValues.set(requestLoggerKey, log);
    const level = isAdminMethod(method) ? "info" : "debug";

    const finish = (code: number, campaignId: string | undefined, err?: ConnectError) => {
      const ms = performance.now() - started;
      const label = code === 0 ? "ok" : codeToString(code);
      metrics.rpcRequests.labels(method, label).inc();
      metrics.rpcDuration.labels(method).observe(ms / 1000);
      if (method === "IssueCoupon") metrics.issue.record(code, started);
      if (log.isLevelEnabled(level)) {
        log[level]({ campaignId, code: label, ms: Math.round(ms * 10) / 10, ...(err ? { error: err.rawMessage } : {}) }, "rpc");
      }
    };

    try {
      const res = await next(req);
      res.header.set(REQUEST_ID_HEADER, reqId);
      finish(0, campaignIdOf(req.message) ?? campaignIdOf(res.message));
      return res;
    } catch (e) {
      const err = ConnectError.from(e);
      err.metadata.set(REQUEST_ID_HEADER, reqId);
      finish(err.code, campaignIdOf(req.message), err);
      throw err;
    }
  };
}
