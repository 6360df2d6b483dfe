import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createConnectRouter, type Interceptor } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import type { Deps } from "../deps.js";
import { CouponService } from "../gen/couponpb/coupon_pb.js";
import { answerWrittenKey, couponServiceImpl } from "./coupon-service.js";
import type { Metrics } from "../ops/metrics.js";
import { toConnectError } from "./errors.js";
import { adminAuthInterceptor } from "./interceptors/admin-auth.js";
import { observeInterceptor, requestLoggerKey } from "./interceptors/observe.js";
import { answerUnanswered, clientFaultsAsInvalidArgument } from "./client-faults.js";
import { withClientIp } from "./client-ip.js";
import { strictJsonDecoder } from "./strict-json.js";
import type { JsonReadOptions } from "@bufbuild/protobuf";

const GET_CAMPAIGN_PATH = "/couponpb.CouponService/GetCampaign";
const noop = () => undefined;

/** Largest request body any method accepts, in bytes. Every request here is tiny. */
export const READ_MAX_BYTES = 64 * 1024;

export type ConnectNodeHandler = {
  /** Serves a request. `bufferedBody`, when given, replaces the (already consumed) request stream. */
  (req: IncomingMessage, res: ServerResponse, bufferedBody?: AsyncIterable<Uint8Array>): void;
  /** Request paths this handler serves, e.g. `/couponpb.CouponService/IssueCoupon`. */
  paths: ReadonlySet<string>;
};

/** Domain errors become Connect errors here, for every method of the generic path. */
function errorInterceptor(deps: Deps): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      throw toConnectError(err, req.contextValues.get(requestLoggerKey) ?? deps.logger);
    }
  };
}

export type ConnectHandlerOptions = { metrics: Metrics };

/**
 * The official connect-es router for CouponService on a Node request/response pair: Connect,
 * gRPC and gRPC-Web, JSON and binary, gzip and brotli. Unknown paths under the service get 404.
 * A request whose bytes do not decode (binary message, compression, base64 query) gets
 * `invalid_argument`, as from connect-go, instead of connect-es's `internal` (client-faults.ts).
 */
export function createConnectHandler(deps: Deps, options: ConnectHandlerOptions): ConnectNodeHandler {
  const router = createConnectRouter({
    acceptCompression: [compressionGzip, compressionBrotli],
    readMaxBytes: READ_MAX_BYTES,
    // Outermost first: observe (request id, metrics, log) → map errors → admin key.
    interceptors: [
      observeInterceptor({ logger: deps.logger, metrics: options.metrics }),
      errorInterceptor(deps),
      adminAuthInterceptor({ adminApiKey: deps.config.ADMIN_API_KEY }),
    ],
  });
  // Method by method, so each one's JSON input goes through a strict reader of its own message
  // (strict-json.ts): bad UTF-8, loose integers and impossible dates answer invalid_argument.
  const impl = couponServiceImpl(deps) as Record<string, unknown>;
  for (const method of CouponService.methods) {
    router.rpc(method, impl[method.localName] as never, {
      jsonOptions: { textDecoder: strictJsonDecoder(method.input) } as Partial<JsonReadOptions>,
    });
  }
  const byPath = new Map<string, UniversalHandler>(router.handlers.map((h) => [h.requestPath, h]));

  const handle = (req: IncomingMessage, res: ServerResponse, bufferedBody?: AsyncIterable<Uint8Array>) => {
    const path = (req.url ?? "").split("?", 1)[0]!;
    const h = byPath.get(path);
    if (!h) {
      res.writeHead(404).end();
      return;
    }
    const values = withClientIp(req);
    // GetCampaign holds an answer slot until its answer is written (src/campaigns/get-campaign.ts).
    if (path === GET_CAMPAIGN_PATH) values.set(answerWrittenKey, once(res, "close").then(noop, noop));
    const uReq = universalRequestFromNodeRequest(req, res, undefined, values);
    if (bufferedBody) uReq.body = bufferedBody;
    h(uReq)
      .catch((err: unknown) => {
        // connect-es gave no answer at all: answer for it rather than leave the caller hanging.
        deps.logger[err instanceof URIError ? "debug" : "error"]({ err, path }, "connect-es gave no answer");
        return answerUnanswered(err, uReq);
      })
      // connect-es blames some undecodable requests on the server: invalid_argument, as connect-go.
      .then((uRes) => clientFaultsAsInvalidArgument(uRes, uReq))
      .then((uRes) => universalResponseToNodeResponse(uRes, res))
      .catch((err) => {
        deps.logger.debug({ err, path }, "connect response not delivered");
        // Nothing more can be written: never leave the caller waiting on an open response.
        if (!res.writableEnded) res.destroy();
      });
  };
  return Object.assign(handle, { paths: new Set(byPath.keys()) });
}
