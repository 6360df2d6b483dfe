import type { IncomingMessage, ServerResponse } from "node:http";
import { gunzipSync } from "node:zlib";
import { create, fromBinary, fromJsonString, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { codeToString, parseContentType } from "@connectrpc/connect/protocol-connect";
import type { Deps } from "../deps.js";
import { AppError } from "../errors.js";
import { IssueCouponRequestSchema, IssueCouponResponseSchema, type IssueCouponRequest } from "../gen/couponpb/coupon_pb.js";
import type { IssueMetrics } from "../ops/metrics.js";
import { READ_MAX_BYTES, type ConnectNodeHandler } from "./connect-handler.js";
import { startIssueForCaller } from "./coupon-service.js";
import type { IssuedCoupon } from "../issue/issue.js";
import { connectCodeOf, httpStatusOf } from "./errors.js";
import { strictJsonText } from "./strict-json.js";
import { readIssueRequest, writeIssueResponse } from "./issue-json.js";

/**
 * IssueCoupon's dedicated handler: the Connect unary protocol for this one method, without
 * connect-es's per-call AbortControllers, Headers objects and async generators (~200 µs of CPU
 * per call on this machine, see docs/design.md "Why IssueCoupon has its own handler").
 *
 * It serves the common case itself: POST, `application/json` or `application/proto` (charset
 * tolerated), identity or gzip body, a body that decodes. Anything else — other protocols
 * (gRPC, gRPC-Web), streaming content types, other encodings, oversized or undecodable bodies,
 * odd timeouts — is handed, bytes and all, to the connect-es handler, so those answers are
 * connect-es's own by construction. Domain errors are rendered here exactly as connect-es
 * renders them: `{"code": …, "message": …}` with Connect's HTTP status.
 */
/** How many calls this process's fast handlers answered themselves and handed to connect-es. */
export const fastHandlerStats = { served: 0, delegated: 0 };

/**
 * `metrics` counts the calls this handler answers itself (outcome and latency: a few array writes,
 * no I/O); calls it hands to connect-es are counted there, by the observe interceptor.
 */
export function createIssueFastHandler(deps: Deps, generic: ConnectNodeHandler, metrics: IssueMetrics) {
  const jsonReadOptions = { ignoreUnknownFields: true }; // connect-es's default for JSON input
  const perIpLimited = deps.rateLimits.perIp > 0;

  function replay(chunks: Buffer[], req?: IncomingMessage): AsyncIterable<Uint8Array> {
    return (async function* () {
      yield* chunks;
      if (req) yield* req;
    })();
  }

  function send(res: ServerResponse, status: number, contentType: string, body: Uint8Array | string) {
    const length = typeof body === "string" ? Buffer.byteLength(body) : body.byteLength;
    res.writeHead(status, { "content-type": contentType, "content-length": length });
    res.end(body);
  }

  // A refusal answered from memory (src/issue/refusal-memo.ts) is one error object thrown again
  // and again: its body is rendered once.
  const rendered = new WeakMap<AppError, { status: number; body: string }>();

  function sendError(res: ServerResponse, err: unknown) {
    let code: string;
    let message: string;
    let status: number;
    if (err instanceof AppError) {
      const known = rendered.get(err);
      if (known) {
        send(res, known.status, "application/json", known.body);
        return;
      }
      code = codeToString(connectCodeOf(err.code));
      message = err.message;
      status = httpStatusOf(err.code);
      if (err.code === "unavailable" || err.code === "internal") deps.logger.warn({ err }, err.message);
      else {
        const body = JSON.stringify({ code, message });
        rendered.set(err, { status, body });
        send(res, status, "application/json", body);
        return;
      }
    } else {
      deps.logger.error({ err }, "unexpected error in IssueCoupon");
      code = "internal";
      message = "internal error";
      status = 500;
    }
    send(res, status, "application/json", JSON.stringify({ code, message }));
  }

  function decode(body: Buffer, binary: boolean): IssueCouponRequest | undefined {
    try {
      if (binary) return fromBinary(IssueCouponRequestSchema, body);
      return (
        readIssueRequest(body) ??
        fromJsonString(IssueCouponRequestSchema, strictJsonText(IssueCouponRequestSchema, body), jsonReadOptions)
      );
    } catch {
      return undefined;
    }
  }

  function serve(res: ServerResponse, req: IssueCouponRequest, binary: boolean, startedMs: number) {
    let answer: unknown;
    try {
      // The client's address is read only when a per-address limit needs it.
      const ip = perIpLimited ? (res.socket?.remoteAddress ?? "") : "";
      answer = startIssueForCaller(deps, req, ip, res.req.headers.authorization);
    } catch (err) {
      answer = err;
    }
    if (answer instanceof Promise) void sendIssued(res, answer as Promise<IssuedCoupon>, binary, startedMs);
    else refused(res, answer, startedMs);
  }

  async function sendIssued(res: ServerResponse, issuing: Promise<IssuedCoupon>, binary: boolean, startedMs: number) {
    try {
      const issued = await issuing;
      if (binary) {
        const out = create(IssueCouponResponseSchema, { couponCode: issued.code, sequence: BigInt(issued.sequence) });
        send(res, 200, "application/proto", toBinary(IssueCouponResponseSchema, out));
      } else send(res, 200, "application/json", writeIssueResponse(issued.code, issued.sequence));
      metrics.record(0, startedMs);
    } catch (err) {
      refused(res, err, startedMs);
    }
  }

  function refused(res: ServerResponse, err: unknown, startedMs: number) {
    sendError(res, err);
    metrics.record(err instanceof AppError ? connectCodeOf(err.code) : Code.Internal, startedMs);
  }

  // Callers send one content type again and again: parse each distinct header once (a few of them).
  const contentTypes = new Map<string, ReturnType<typeof parseContentType>>();
  function contentTypeOf(header: string | undefined): ReturnType<typeof parseContentType> {
    if (header === undefined) return parseContentType(null);
    let type = contentTypes.get(header);
    if (type === undefined && !contentTypes.has(header)) {
      type = parseContentType(header);
      if (contentTypes.size < 16) contentTypes.set(header, type);
    }
    return type;
  }

  return function issueFastHandler(req: IncomingMessage, res: ServerResponse): void {
    const startedMs = performance.now();
    const type = contentTypeOf(req.headers["content-type"]);
    const encoding = req.headers["content-encoding"];
    const gzip = encoding === "gzip";
    const timeout = req.headers["connect-timeout-ms"];
    const declared = Number(req.headers["content-length"] ?? 0);
    if (
      type === undefined ||
      type.stream ||
      (encoding !== undefined && encoding !== "identity" && !gzip) ||
      (timeout !== undefined && !/^\d{4,10}$/.test(String(timeout))) ||
      declared > READ_MAX_BYTES
    ) {
      fastHandlerStats.delegated++;
      generic(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > READ_MAX_BYTES) {
        // Too big: connect-es reads the rest and answers resource_exhausted.
        req.off("data", onData).off("end", onEnd).pause();
        fastHandlerStats.delegated++;
        generic(req, res, replay(chunks, req));
      }
    };
    const onEnd = () => {
      const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      let body: Buffer | undefined = raw;
      if (gzip) {
        try {
          body = gunzipSync(raw, { maxOutputLength: READ_MAX_BYTES });
        } catch {
          body = undefined;
        }
      }
      const message = body && decode(body, type.binary);
      if (message === undefined) {
        fastHandlerStats.delegated++;
        generic(req, res, replay(chunks));
        return;
      }
      fastHandlerStats.served++;
      serve(res, message, type.binary, startedMs);
    };
    req.on("data", onData).on("end", onEnd);
  };
}
