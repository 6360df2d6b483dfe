import { Code, ConnectError } from "@connectrpc/connect";
import {
  createAsyncIterable,
  encodeEnvelope,
  readAllBytes,
  type UniversalServerRequest,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import { codeToHttpStatus, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { base64Decode } from "@bufbuild/protobuf/wire";

/** A Connect unary error body is a few hundred bytes; anything larger is not one we rewrite. */
const ERROR_BODY_MAX_BYTES = 16 * 1024;
const GRPC_INTERNAL = String(Code.Internal);
const GRPC_INVALID_ARGUMENT = String(Code.InvalidArgument);

/**
 * connect-es answers some requests that the client got wrong with `internal` (HTTP 500 in the
 * Connect protocol, grpc-status 13 in gRPC and gRPC-Web), as if the server had failed; connect-go,
 * the original server, answers them with `invalid_argument` (HTTP 400, grpc-status 3). This turns
 * exactly those answers into connect-go's, message kept:
 *  - a binary message that does not decode ("parse binary: …");
 *  - a gzip or brotli body that does not decompress, e.g. truncated ("decompression failed");
 *  - a Connect GET whose `message` parameter is not base64 although `base64=1` says it is
 *    (connect-es lets the decoder's plain Error escape and reports "internal error").
 * Every other response is returned as it was, without reading its body unless it is a Connect
 * 500 or a gRPC-Web answer.
 */
export async function clientFaultsAsInvalidArgument(
  res: UniversalServerResponse,
  req: { method: string; url: string },
): Promise<UniversalServerResponse> {
  const type = res.header?.get("content-type") ?? "";
  if (res.status === 500 && type === "application/json") return connectUnary(res, req);
  if (res.trailer?.get("grpc-status") === GRPC_INTERNAL) {
    // gRPC: the status is a trailer, already set when a request message fails to decode.
    if (isClientFault(grpcMessage(res.trailer))) res.trailer.set("grpc-status", GRPC_INVALID_ARGUMENT);
    return res;
  }
  if (res.status === 200 && type.startsWith("application/grpc-web") && res.body) return grpcWeb(res, res.body);
  return res;
}

function isClientFault(message: string | undefined): boolean {
  return message !== undefined && (message.startsWith("parse binary: ") || message === "decompression failed");
}

async function connectUnary(res: UniversalServerResponse, req: { method: string; url: string }): Promise<UniversalServerResponse> {
  const header = res.header;
  if (!res.body || !header || header.has("content-encoding")) return res;
  const bytes = await readAllBytes(res.body, ERROR_BODY_MAX_BYTES, header.get("content-length"));
  const internal = internalErrorMessage(bytes);
  let message: string | undefined;
  if (isClientFault(internal)) message = internal;
  else if (internal === "internal error" && req.method === "GET" && hasUndecodableBase64Message(req.url)) {
    message = "message is not valid base64";
  }
  if (message === undefined) return { ...res, body: createAsyncIterable([bytes]) };
  const body = errorToJsonBytes(new ConnectError(message, Code.InvalidArgument), {});
  const out = new Headers(header);
  out.set("content-length", String(body.byteLength));
  return { ...res, status: codeToHttpStatus(Code.InvalidArgument), header: out, body: createAsyncIterable([body]) };
}

/** The message of a Connect `internal` error body, or undefined if the body is something else. */
function internalErrorMessage(bytes: Uint8Array): string | undefined {
  try {
    const json = JSON.parse(new TextDecoder().decode(bytes)) as { code?: unknown; message?: unknown };
    return json.code === "internal" && typeof json.message === "string" ? json.message : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True for a GET whose `base64=1` message does not decode. connect-es decodes it before anything
 * else can fail with `internal`, so a 500 to such a request is that failure.
 */
function hasUndecodableBase64Message(url: string): boolean {
  const query = new URL(url, "http://localhost").searchParams;
  if (query.get("base64") !== "1") return false;
  try {
    base64Decode(query.get("message") ?? "");
    return false;
  } catch {
    return true;
  }
}

function grpcMessage(trailer: Headers): string | undefined {
  const raw = trailer.get("grpc-message");
  if (raw === null) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * gRPC-Web: the status travels in a trailer envelope inside the body. A request that fails to
 * decode gets that envelope alone, as the first chunk (connect-es joins each envelope into one).
 */
async function grpcWeb(res: UniversalServerResponse, body: AsyncIterable<Uint8Array>): Promise<UniversalServerResponse> {
  const it = body[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return { ...res, body: createAsyncIterable([]) };
  let chunk = first.value;
  if (chunk.length >= 5 && chunk[0] === trailerFlag) {
    const trailer = trailerParse(chunk.subarray(5, 5 + new DataView(chunk.buffer, chunk.byteOffset + 1, 4).getUint32(0)));
    if (trailer.get("grpc-status") === GRPC_INTERNAL && isClientFault(grpcMessage(trailer))) {
      trailer.set("grpc-status", GRPC_INVALID_ARGUMENT);
      chunk = encodeEnvelope(trailerFlag, trailerSerialize(trailer));
    }
  }
  const rest = { [Symbol.asyncIterator]: () => it };
  return {
    ...res,
    body: (async function* () {
      yield chunk;
      yield* rest;
    })(),
  };
}

/**
 * An answer for a request connect-es failed to answer at all (its handler rejected), which would
 * otherwise hang until the socket times out. The one way known: a gRPC or gRPC-Web error whose
 * message holds half of a surrogate pair (V8's JSON.parse errors quote a single UTF-16 unit of the
 * client's bad JSON) makes connect-es's percent-encoding of `grpc-message` throw URIError from its
 * error path. That was the client's bad input: `invalid_argument`. Anything else: `internal`.
 */
export function answerUnanswered(err: unknown, req: Pick<UniversalServerRequest, "header">): UniversalServerResponse {
  const clientFault = err instanceof URIError;
  const code = clientFault ? Code.InvalidArgument : Code.Internal;
  const message = clientFault ? "the request message could not be decoded" : "internal error";
  const type = req.header.get("content-type") ?? "";
  const json = type.includes("json");
  if (type.startsWith("application/grpc")) {
    const status = new Headers({ "grpc-status": String(code), "grpc-message": encodeURIComponent(message) });
    if (type.startsWith("application/grpc-web")) {
      const header = new Headers({ "content-type": json ? "application/grpc-web+json" : "application/grpc-web+proto" });
      return { status: 200, header, body: createAsyncIterable([encodeEnvelope(trailerFlag, trailerSerialize(status))]) };
    }
    // gRPC "Trailers-Only": the status travels in the headers of an empty response.
    status.set("content-type", json ? "application/grpc+json" : "application/grpc+proto");
    return { status: 200, header: status, body: createAsyncIterable([]) };
  }
  const body = errorToJsonBytes(new ConnectError(message, code), {});
  const header = new Headers({ "content-type": "application/json", "content-length": String(body.byteLength) });
  return { status: codeToHttpStatus(code), header, body: createAsyncIterable([body]) };
}
