import { randomBytes } from "node:crypto";
import { Agent, request } from "node:http";
import { Readable } from "node:stream";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { brotliCompressSync, constants as zlibConstants, gzipSync } from "node:zlib";
import { fromBinary, fromJsonString, type DescField, type DescMethod } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { codeFromString, codeToHttpStatus } from "@connectrpc/connect/protocol-connect";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isWellFormedCode } from "../codes/code-format.js";
import { CouponService } from "../gen/couponpb/coupon_pb.js";
import { createLoadedCampaign, startTestService, stopTestService, type TestService } from "../testing/harness.js";
import { READ_MAX_BYTES } from "./connect-handler.js";
import { SERVICE_PREFIX } from "./mount.js";

/**
 * A property-based fuzz of the wire: at least 10,000 hostile, malformed and mistyped requests per
 * IssueCoupon path against the running service, every method of the proto, then 100 MB bodies and
 * huge headers. Every answer must be a 4xx Connect error (or a 200 when the fuzz happened to
 * build a valid call), the process must survive with its memory bounded, and a well-formed call
 * must still succeed afterwards.
 *
 * `FUZZ_SEED=<n>` replays a failing run (fast-check prints the seed and the shrunk counterexample).
 */
const REQUESTS_PER_RUN = 10_000;
const BATCH = 8; // requests sent concurrently per property run
const RSS_GROWTH_MAX_MB = 300;
const HEAP_GROWTH_MAX_MB = 64;
const HUNDRED_MB = 100 * 1024 * 1024;
/** A request still unanswered after this long is a hang: the fuzz reports it. */
const ANSWER_TIMEOUT_MS = 45_000; // above the 30 s Redis command timeout set below
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() ^ (Math.random() * 2 ** 31);

const METHODS: readonly DescMethod[] = CouponService.methods;
/** Node's default limit on the request line plus headers (`--max-http-header-size`). */
const NODE_MAX_HEADER_BYTES = 16 * 1024;

// ---------------------------------------------------------------- requests and how they are sent

type WireRequest = {
  httpMethod: string;
  /** The RPC the path names, if it names one of the service's. */
  rpc: DescMethod | undefined;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  /** The content-encoding is one Connect does not support: `unimplemented` (501) is the protocol's answer. */
  unsupportedEncoding: boolean;
  /** When set, a header of this many bytes is added on sending (past Node's limit). */
  hugeHeaderBytes?: number;
};

type WireAnswer =
  | { status: number; headers: Record<string, string | string[] | undefined>; trailers: Record<string, string | undefined>; body: Buffer }
  | { error: string };

function send(base: string, r: WireRequest, agent: Agent | false): Promise<WireAnswer> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { ...r.headers };
    if (r.hugeHeaderBytes) headers["x-huge"] = "h".repeat(r.hugeHeaderBytes);
    // Node's client frames no body of a DELETE or OPTIONS unless told its length.
    if (r.body.length > 0) headers["content-length"] = String(r.body.length);
    const req = request(`${base}${r.path}`, { method: r.httpMethod, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, trailers: res.trailers, body: Buffer.concat(chunks) }),
      );
      res.on("error", (err) => resolve({ error: String(err) }));
    });
    req.on("error", (err) => resolve({ error: String(err) }));
    req.setTimeout(ANSWER_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms`)));
    req.end(r.body.length > 0 ? r.body : undefined);
  });
}

/** The request in full, replayable: bodies up to 4 KiB as base64, longer ones cut. */
function describeRequest(r: WireRequest): string {
  const body = r.body.length > 4096 ? `${r.body.subarray(0, 4096).toString("base64")}… (${r.body.length} bytes)` : r.body.toString("base64");
  const huge = r.hugeHeaderBytes ? ` + a ${r.hugeHeaderBytes}-byte header` : "";
  return `${r.httpMethod} ${r.path} ${JSON.stringify(r.headers)}${huge} body(base64)=${body}`;
}

// ---------------------------------------------------------------- what a right answer is

/** Statuses Node's HTTP layer or the Connect router send without a Connect error body. */
const BODYLESS_4XX = new Set([400, 404, 405, 413, 414, 415, 431]);
/** Text that must never reach a client: SQL, driver errors, stack frames, Redis replies. */
const LEAK = /\bselect\b|\binsert into\b|\bER_[A-Z_]+|\n\s+at |ECONNREFUSED|NOSCRIPT|WRONGTYPE|\.lua\b/i;

/** Why `a` is not an acceptable answer to `r`, or undefined when it is. */
function problemWith(r: WireRequest, a: WireAnswer): string | undefined {
  if ("error" in a) return `no HTTP answer (${a.error})`;
  const type = String(a.headers["content-type"] ?? "");
  if (type.startsWith("application/grpc")) return problemWithGrpc(a, type);
  if (a.status === 200) {
    if (!r.rpc) return "200 for a path that names no method";
    try {
      const out: unknown = type.startsWith("application/proto")
        ? fromBinary(r.rpc.output, a.body)
        : fromJsonString(r.rpc.output, a.body.toString("utf8"));
      if (r.rpc.name === "IssueCoupon" && !isWellFormedCode((out as { couponCode: string }).couponCode)) {
        return "200 with a malformed coupon code";
      }
    } catch (err) {
      return `200 whose body is not a ${r.rpc.output.typeName} (${String(err)})`;
    }
    return undefined;
  }
  if (a.body.length === 0) {
    return BODYLESS_4XX.has(a.status) ? undefined : `HTTP ${a.status} without a Connect error body`;
  }
  if (a.status === 404 && type.startsWith("application/json")) return undefined; // hono's plain 404
  let err: { code?: unknown; message?: unknown };
  try {
    err = JSON.parse(a.body.toString("utf8")) as typeof err;
  } catch {
    return `HTTP ${a.status} whose body is not JSON: ${a.body.toString("latin1").slice(0, 200)}`;
  }
  const code = typeof err.code === "string" ? codeFromString(err.code) : undefined;
  if (code === undefined) return `HTTP ${a.status} whose body is not a Connect error: ${a.body.toString("utf8").slice(0, 200)}`;
  if (codeToHttpStatus(code) !== a.status) return `HTTP ${a.status} does not match the Connect code ${String(err.code)}`;
  if (typeof err.message === "string" && LEAK.test(err.message)) return `the message leaks internals: ${err.message}`;
  if (a.status >= 400 && a.status < 500) return undefined;
  // The one 5xx the Connect protocol prescribes for a client's choice: a content-encoding the
  // server does not support is `unimplemented` (connect-go and connect-es both answer 501).
  if (code === Code.Unimplemented && r.unsupportedEncoding && String(err.message).startsWith("unknown compression")) return undefined;
  return `HTTP ${a.status} ${String(err.code)}: ${String(err.message)}`;
}

/** A gRPC or gRPC-Web answer: HTTP 200, its status in a trailer; never internal or unknown but where the protocol says so. */
function problemWithGrpc(a: Extract<WireAnswer, { status: number }>, type: string): string | undefined {
  if (a.status !== 200) return `gRPC answer with HTTP ${a.status}`;
  let status = a.trailers["grpc-status"] ?? (a.headers["grpc-status"] as string | undefined);
  let message = a.trailers["grpc-message"] ?? (a.headers["grpc-message"] as string | undefined);
  if (type.startsWith("application/grpc-web")) {
    const text = a.body.toString("latin1");
    status = /grpc-status: *(\d+)/i.exec(text)?.[1] ?? status;
    message = /grpc-message: *([^\r\n]*)/i.exec(text)?.[1] ?? message;
  }
  if (status === undefined) return "gRPC answer without grpc-status";
  const text = decodeURIComponent(message ?? "");
  // The gRPC compression spec prescribes INTERNAL for a compressed message without an encoding.
  if (status === String(Code.Internal) && text.startsWith("received compressed envelope, but")) return undefined;
  if (status === String(Code.Internal) || status === String(Code.Unknown)) return `gRPC status ${status}: ${text}`;
  return undefined;
}

// ---------------------------------------------------------------- the hostile request generator

/** JSON number tokens, valid and not: boundaries of int32/int64/uint64, floats, overflow. */
const numberToken: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }).map(String),
  fc.constantFrom(
    "0", "-0", "-1", "1e400", "-1e400", "1.5", "1e3", "1E-7", "2147483647", "2147483648", "-2147483649",
    "4294967296", "9007199254740993", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
    "-9223372036854775809", "18446744073709551616", "99999999999999999999999", "00", "01", "+1", ".5", "1.",
    "-", "0x10", "NaN", "Infinity", "1_000",
  ),
  // Totals between 1,001 and 10,000,000 are left out on purpose: with a valid name and start they
  // would load a real pool of that many codes, which is a load test, not a fuzz.
  fc.bigInt({ min: 10_000_001n, max: 2n ** 80n }).chain((n) => fc.constantFrom(String(n), `-${n}`)),
  fc
    .double({ noNaN: true, noDefaultInfinity: true })
    .filter((d) => !(Number.isInteger(d) && d > 1000 && d <= 10_000_000))
    .map(String),
);

function isoAt(offsetMs: number): string {
  return new Date(Date.now() + offsetMs).toISOString();
}

/** Timestamps as JSON tokens: valid near now, out of the accepted range, malformed, wrong shape. */
const timestampToken: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: -3_600_000, max: 3_600_000 }).map((ms) => JSON.stringify(isoAt(ms))),
  fc.constantFrom(
    '"1970-01-01T00:00:00Z"', '"0001-01-01T00:00:00Z"', '"9999-12-31T23:59:59.999999999Z"', '"10000-01-01T00:00:00Z"',
    '"2026-13-45T99:99:99Z"', '"2026-01-01"', '"2026-01-01T00:00:00"', '"2026-01-01T00:00:00+25:00"', '"now"', '""',
    '{"seconds":"1","nanos":-1}', '{"seconds":1}', "1700000000", "null", "[]",
  ),
  fc.integer({ min: 2, max: 40 }).map((years) => JSON.stringify(isoAt(years * 366 * 86_400_000))),
);

/** Strings as JSON tokens: any UTF-16 (lone surrogates included), control characters, long ones, numbers. */
const stringToken: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }).map((s) => JSON.stringify(s)),
  fc.string({ unit: "grapheme", minLength: 190, maxLength: 260 }).map((s) => JSON.stringify(s)),
  fc.constantFrom('"\\u0000"', '"a\\nb"', '"\\ud800"', '"\\udfff\\ud800"', '"   "', '"\\u202e"', '"💥"', '"x'.padEnd(130, "x") + '"'),
  numberToken.map((t) => JSON.stringify(t)),
);

/** Any JSON-ish value token, nested a little. */
const { value: jsonValueToken } = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    numberToken,
    stringToken,
    timestampToken,
    fc.constantFrom("true", "false", "null", "{}", "[]", '""'),
    fc.array(tie("value"), { maxLength: 4 }).map((xs) => `[${xs.join(",")}]`),
    fc
      .array(fc.tuple(fc.string({ maxLength: 8 }), tie("value")), { maxLength: 4 })
      .map((kv) => `{${kv.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`),
  ),
}));

/** A value of the field's own type, mostly; sometimes of any type. */
function fieldValueToken(field: DescField, ids: readonly bigint[]): fc.Arbitrary<string> {
  const idLike = field.name.endsWith("_id") || field.name.endsWith("_ids");
  let typed: fc.Arbitrary<string>;
  if (field.fieldKind === "message") typed = timestampToken;
  else if (field.fieldKind === "scalar" && field.scalar === 9 /* string */) typed = stringToken;
  else if (idLike) typed = fc.oneof(fc.constantFrom(...ids.map((id) => `"${id}"`), ...ids.map(String)), numberToken);
  else typed = numberToken;
  if (field.fieldKind === "list") typed = fc.array(idLike ? fc.constantFrom(...ids.map(String)) : numberToken, { maxLength: 5 }).map((xs) => `[${xs.join(",")}]`);
  return fc.oneof({ weight: 4, arbitrary: typed }, { weight: 1, arbitrary: jsonValueToken });
}

/** A JSON object for the method's input: its fields (either spelling), unknown fields, duplicates. */
function jsonMessageText(method: DescMethod, ids: readonly bigint[]): fc.Arbitrary<string> {
  const fieldEntries = method.input.fields.map((f) =>
    fc.tuple(fc.constantFrom(f.jsonName, f.name), fieldValueToken(f, ids)),
  );
  const unknown = fc.tuple(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("__proto__", "constructor", "@type", "campaignid")), jsonValueToken);
  return fc
    .array(fc.oneof({ weight: 4, arbitrary: fc.oneof(...fieldEntries) }, { weight: 1, arbitrary: unknown }), { maxLength: 6 })
    .map((kv) => `{${kv.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`);
}

/** Text mutations: truncation, a replaced character, trailing garbage, deep nesting. */
function mutateText(text: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 5, arbitrary: text },
    text.chain((t) => fc.nat({ max: Math.max(0, t.length - 1) }).map((n) => t.slice(0, n))),
    text.chain((t) => fc.tuple(fc.nat({ max: Math.max(0, t.length - 1) }), fc.string({ unit: "binary", minLength: 1, maxLength: 1 })).map(([i, c]) => t.slice(0, i) + c + t.slice(i + 1))),
    text.chain((t) => fc.string({ unit: "binary", maxLength: 10 }).map((g) => t + g)),
    fc.integer({ min: 1, max: 30_000 }).map((n) => "[".repeat(n) + "]".repeat(n)),
    fc.integer({ min: 1, max: 10_000 }).map((n) => '{"a":'.repeat(n) + "1" + "}".repeat(n)),
    jsonValueToken,
  );
}

// Protobuf wire format, by hand, so that it can lie: overlong varints, lengths past the end,
// unknown and invalid wire types, unbalanced groups.
function varint(n: bigint): number[] {
  const out: number[] = [];
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n > 0n) b |= 0x80;
    out.push(b);
  } while (n > 0n);
  return out;
}
const tag = (no: number, wireType: number) => varint((BigInt(no) << 3n) | BigInt(wireType));

function wireFieldBytes(fieldNumbers: readonly number[]): fc.Arbitrary<number[]> {
  const no = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...fieldNumbers) }, fc.integer({ min: 0, max: 2 ** 29 - 1 }));
  const int64 = fc.oneof(
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    fc.constantFrom(0n, -1n, 1n, 10_000_001n, 2n ** 31n, -(2n ** 63n)),
    fc.bigInt({ min: 1n, max: 1000n }),
  );
  const timestamp = fc
    .tuple(int64, fc.integer({ min: -2, max: 2_000_000_000 }))
    .map(([s, n]) => [...tag(1, 0), ...varint(BigInt.asUintN(64, s)), ...tag(2, 0), ...varint(BigInt.asUintN(64, BigInt(n)))]);
  const payload = fc.oneof(
    fc.uint8Array({ maxLength: 40 }).map((b) => [...b]),
    fc.string({ unit: "grapheme", maxLength: 300 }).map((s) => [...Buffer.from(s, "utf8")]),
    fc.constantFrom([0xc3], [0xed, 0xa0, 0x80], [0xff, 0xfe]), // invalid UTF-8
    timestamp,
  );
  return fc.oneof(
    fc.tuple(no, int64).map(([n, v]) => [...tag(n, 0), ...varint(BigInt.asUintN(64, v))]),
    fc.tuple(no, fc.bigInt({ min: 2n ** 64n, max: 2n ** 80n })).map(([n, v]) => [...tag(n, 0), ...varint(v)]), // overlong varint
    fc.tuple(no, payload, fc.integer({ min: -3, max: 3 })).map(([n, p, lie]) => [...tag(n, 2), ...varint(BigInt(Math.max(0, p.length + lie))), ...p]),
    fc.tuple(no, fc.uint8Array({ minLength: 8, maxLength: 8 })).map(([n, b]) => [...tag(n, 1), ...b]),
    fc.tuple(no, fc.uint8Array({ minLength: 4, maxLength: 4 })).map(([n, b]) => [...tag(n, 5), ...b]),
    fc.tuple(no, fc.constantFrom(3, 4, 6, 7)).map(([n, w]) => tag(n, w)), // groups and invalid wire types
  );
}

function protoMessageBytes(method: DescMethod): fc.Arbitrary<Buffer> {
  const numbers = method.input.fields.map((f) => f.number);
  const message = fc.array(wireFieldBytes(numbers.length ? numbers : [1]), { maxLength: 6 }).map((fs) => Buffer.from(fs.flat()));
  return fc.oneof(
    { weight: 5, arbitrary: message },
    message.chain((b) => fc.nat({ max: Math.max(0, b.length - 1) }).map((n) => b.subarray(0, n))), // truncated
    message.chain((b) => fc.tuple(fc.nat({ max: Math.max(0, b.length - 1) }), fc.nat({ max: 7 })).map(([i, bit]) => {
      const c = Buffer.from(b);
      if (c.length) c[i] = c[i]! ^ (1 << bit);
      return c;
    })),
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)), // garbage
    fc.integer({ min: 1, max: 30_000 }).map((n) => Buffer.from(Array.from({ length: n }, () => tag(9, 3)).flat())), // deeply nested groups
  );
}

const JSON_TYPES = ["application/json", "application/json; charset=utf-8", "application/json;charset=UTF-8", "APPLICATION/JSON"];
const PROTO_TYPES = ["application/proto", "application/proto; charset=utf-8", "application/x-protobuf"];
const WRONG_TYPES = [
  "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "",
  "application/connect+json", "application/connect+proto", "application/json; charset=utf-16", "*/*", "application/",
  "application/grpc", "application/grpc+proto", "application/grpc-web", "application/grpc-web+json", "application/grpc-web-text",
];

const GRPC_TYPES = ["application/grpc", "application/grpc+proto", "application/grpc+json", "application/grpc-web", "application/grpc-web+proto", "application/grpc-web+json"];

type Shape = { text?: string; bytes?: Buffer; contentType: string | undefined };

function bodyShape(method: DescMethod, ids: readonly bigint[]): fc.Arbitrary<Shape> {
  const json = mutateText(jsonMessageText(method, ids));
  const proto = protoMessageBytes(method);
  return fc.oneof(
    { weight: 6, arbitrary: fc.tuple(json, fc.constantFrom(...JSON_TYPES)).map(([text, contentType]) => ({ text, contentType })) },
    { weight: 4, arbitrary: fc.tuple(proto, fc.constantFrom(...PROTO_TYPES)).map(([bytes, contentType]) => ({ bytes, contentType })) },
    { weight: 1, arbitrary: fc.tuple(json, fc.constantFrom(...PROTO_TYPES)).map(([text, contentType]) => ({ text, contentType })) },
    { weight: 1, arbitrary: fc.tuple(proto, fc.constantFrom(...JSON_TYPES)).map(([bytes, contentType]) => ({ bytes, contentType })) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.oneof(json.map((t) => Buffer.from(t)), proto), fc.option(fc.constantFrom(...WRONG_TYPES), { nil: undefined }))
        .map(([bytes, contentType]) => ({ bytes, contentType })),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => ({ bytes: Buffer.from(b), contentType: "application/json" })) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.oneof(proto, json.map((t) => Buffer.from(t))), fc.constantFrom(0, 0, 0, 1, 0x80, 0xff), fc.integer({ min: -2, max: 2 }), fc.constantFrom(...GRPC_TYPES))
        .map(([payload, flags, lie, contentType]) => ({ bytes: envelope(flags, payload, lie), contentType })),
    },
  );
}

/** A gRPC length-prefixed message; `lie` makes the prefix disagree with the payload. */
function envelope(flags: number, payload: Buffer, lie: number): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(Math.max(0, payload.length + lie), 1);
  return Buffer.concat([head, payload]);
}

const headerToken = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/);
const headerValue = fc.string({ unit: fc.constantFrom(..."abcXYZ019 -_=;,./:".split("")), maxLength: 60 });

function extraHeaders(): fc.Arbitrary<Record<string, string>> {
  return fc.record(
    {
      "connect-protocol-version": fc.constantFrom("1", "2", "", "x"),
      "connect-timeout-ms": fc.oneof(fc.constantFrom("", "-1", "soon", "1.5", "99999999999", "0"), fc.integer({ min: 1000, max: 60_000 }).map(String)),
      accept: fc.constantFrom("*/*", "application/json", "text/html"),
      "accept-encoding": fc.constantFrom("gzip", "br", "zstd", "identity;q=0", "*"),
      "x-user-id": headerValue,
    },
    { requiredKeys: [] },
  ).chain((h) => fc.dictionary(headerToken.filter((k) => !/^(content-|host$|transfer-|connection$|expect$|te$|upgrade$|trailer$)/.test(k)), headerValue, { maxKeys: 3 }).map((d) => ({ ...d, ...h })));
}

/** Brotli at its default quality (11) costs megabytes per call on the sending side; 4 is plenty here. */
const brotli = (b: Buffer) => brotliCompressSync(b, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 4 } });

type Encoding = "none" | "identity" | "gzip" | "br" | "corrupt-gzip" | "truncated-gzip" | "truncated-br" | "unsupported";

function encode(bytes: Buffer, encoding: Encoding): { body: Buffer; header: string | undefined } {
  switch (encoding) {
    case "none":
      return { body: bytes, header: undefined };
    case "identity":
      return { body: bytes, header: "identity" };
    case "gzip":
      return { body: gzipSync(bytes), header: "gzip" };
    case "br":
      return { body: brotli(bytes), header: "br" };
    case "corrupt-gzip":
      return { body: bytes, header: "gzip" };
    case "truncated-gzip": {
      const z = gzipSync(bytes);
      return { body: z.subarray(0, Math.max(1, z.length - 1 - (bytes.length % 8))), header: "gzip" };
    }
    case "truncated-br": {
      const z = brotli(bytes);
      return { body: z.subarray(0, Math.max(1, z.length - 1 - (bytes.length % 4))), header: "br" };
    }
    case "unsupported":
      return { body: bytes, header: "zstd" };
  }
}

/** A whole request: method, path, query, headers, body, encoding. */
function wireRequest(ids: readonly bigint[]): fc.Arbitrary<WireRequest> {
  const rpc = fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...METHODS) }, fc.constant(undefined));
  return rpc.chain((m) => {
    const name = m ? fc.constant(m.name) : fc.constantFrom("Nope", "issueCoupon", "", "IssueCoupon/", "IssueCoupon/x", "%2e%2e");
    const shapeFor = bodyShape(m ?? METHODS[0]!, ids);
    const post = fc.record({
      httpMethod: fc.oneof({ weight: 20, arbitrary: fc.constant("POST") }, fc.constantFrom("PUT", "PATCH", "DELETE", "OPTIONS")),
      name,
      shape: shapeFor,
      encoding: fc.oneof({ weight: 12, arbitrary: fc.constant<Encoding>("none") }, fc.constantFrom<Encoding>("identity", "gzip", "br", "corrupt-gzip", "truncated-gzip", "truncated-br", "unsupported")),
      headers: extraHeaders(),
      hugeHeaderBytes: fc.oneof({ weight: 30, arbitrary: fc.constant(undefined) }, fc.integer({ min: NODE_MAX_HEADER_BYTES, max: 64 * 1024 })),
    });
    const get = fc.record({
      name,
      encodingParam: fc.constantFrom("json", "proto", "xml", ""),
      message: fc.oneof(jsonMessageText(m ?? METHODS[0]!, ids), protoMessageBytes(m ?? METHODS[0]!).map((b) => b.toString("base64url"))),
      base64: fc.constantFrom("", "1", "0", "x"),
      compression: fc.constantFrom("", "identity", "gzip", "zstd"),
      connect: fc.constantFrom("v1", "", "v2"),
    });
    return fc.oneof(
      {
        weight: 9,
        arbitrary: post.map(({ httpMethod, name, shape, encoding, headers, hugeHeaderBytes }): WireRequest => {
          const raw = shape.bytes ?? Buffer.from(shape.text ?? "", "utf8");
          const { body, header } = encode(raw, encoding);
          const all: Record<string, string> = { ...headers };
          if (shape.contentType !== undefined) all["content-type"] = shape.contentType;
          if (header !== undefined) all["content-encoding"] = header;
          return { httpMethod, rpc: m, path: `${SERVICE_PREFIX}${name}`, headers: all, body, unsupportedEncoding: encoding === "unsupported", hugeHeaderBytes };
        }),
      },
      {
        weight: 1,
        arbitrary: get.map((q): WireRequest => {
          const params = new URLSearchParams();
          if (q.encodingParam) params.set("encoding", q.encodingParam);
          params.set("message", q.message);
          if (q.base64) params.set("base64", q.base64);
          if (q.compression) params.set("compression", q.compression);
          if (q.connect) params.set("connect", q.connect);
          return {
            httpMethod: "GET",
            rpc: m,
            path: `${SERVICE_PREFIX}${q.name}?${params}`,
            headers: {},
            body: Buffer.alloc(0),
            unsupportedEncoding: q.compression === "zstd",
          };
        }),
      },
    );
  });
}

// ---------------------------------------------------------------- the runs

setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

/** This process's memory (the service runs in it) after a full collection, in MB. */
function memoryMb(): { rss: number; heap: number; external: number } {
  collectGarbage();
  const m = process.memoryUsage();
  const mb = (n: number) => Math.round(n / 2 ** 20);
  return { rss: mb(m.rss), heap: mb(m.heapUsed), external: mb(m.external + m.arrayBuffers) };
}

/** Streams `size` bytes of garbage as a request body (never held in memory at once). */
function streamBody(base: string, path: string, size: number, headers: Record<string, string>): Promise<WireAnswer> {
  const chunk = randomBytes(64 * 1024);
  let sent = 0;
  const body = new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const n = Math.min(chunk.length, size - sent);
      sent += n;
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
  return new Promise((resolve) => {
    const req = request(`${base}${path}`, { method: "POST", headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, trailers: res.trailers, body: Buffer.concat(chunks) }));
    });
    req.on("error", (err) => resolve({ error: String(err) }));
    req.setTimeout(ANSWER_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms`)));
    body.pipe(req);
  });
}

describe.each(["fast", "connect"] as const)("the wire under fuzz, ISSUE_PATH=%s", (issuePath) => {
  let s: TestService;
  let ids: bigint[];
  const memory: Array<[string, ReturnType<typeof memoryMb>]> = [];
  const statuses = new Map<string, number>();
  let sent = 0;

  beforeAll(async () => {
    console.log(`ISSUE_PATH=${issuePath}: fuzz seed ${SEED}`);
    // A long Redis timeout: this run is about input, not about a Redis slowed down by other tests.
    s = await startTestService({ ISSUE_PATH: issuePath, REDIS_COMMAND_TIMEOUT_MS: "30000" });
    const open = await createLoadedCampaign(s.json, { total: 300, startInMs: -1000, name: "fuzz open" });
    const later = await createLoadedCampaign(s.json, { total: 10, startInMs: 3_600_000, name: "fuzz later" });
    ids = [open.campaignId, later.campaignId, 0n, -1n, 987_654_321n, 9_223_372_036_854_775_807n];
    await s.json.issueCoupon({ campaignId: open.campaignId, userId: "warm-up" });
    memory.push(["before the storm", memoryMb()]);
  });
  afterAll(async () => {
    if (s) await stopTestService(s);
    console.log(`ISSUE_PATH=${issuePath}: ${sent} fuzz requests, seed ${SEED}; answers by status: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
  });

  it(`answers ${REQUESTS_PER_RUN.toLocaleString("en")} malformed, mistyped and hostile requests with 4xx Connect errors, never a 5xx`, async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: BATCH });
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(wireRequest(ids), { minLength: BATCH, maxLength: BATCH }), async (batch) => {
          const answers = await Promise.all(
            // Headers past Node's limit close the connection: they get one of their own.
            batch.map((r) => send(s.url, r, r.hugeHeaderBytes ? false : agent)),
          );
          batch.forEach((r, i) => {
            const a = answers[i]!;
            sent++;
            const key = "error" in a ? "no answer" : String(a.status);
            statuses.set(key, (statuses.get(key) ?? 0) + 1);
            const problem = problemWith(r, a);
            if (problem) throw new Error(`${problem}\n  request: ${describeRequest(r)}`);
          });
        }),
        { numRuns: REQUESTS_PER_RUN / BATCH, seed: SEED, endOnFailure: true },
      );
    } finally {
      agent.destroy();
    }
    expect(sent).toBeGreaterThanOrEqual(REQUESTS_PER_RUN);
    memory.push([`after ${sent} fuzz requests`, memoryMb()]);
  }, 900_000);

  it("refuses a streamed 100 MB body without buffering it, and an oversized body to every method", async () => {
    const cases: Array<[DescMethod, number, Record<string, string>]> = [];
    for (const name of ["IssueCoupon", "CreateCampaign"]) {
      const m = METHODS.find((x) => x.name === name)!;
      cases.push([m, HUNDRED_MB, { "content-type": "application/json", "content-length": String(HUNDRED_MB) }]);
      cases.push([m, HUNDRED_MB, { "content-type": "application/proto", "transfer-encoding": "chunked" }]);
    }
    for (const m of METHODS) cases.push([m, 1024 * 1024, { "content-type": "application/json", "transfer-encoding": "chunked" }]);
    for (const [m, size, headers] of cases) {
      const what = `${m.name}, ${size} bytes, ${JSON.stringify(headers)}`;
      const r: WireRequest = { httpMethod: "POST", rpc: m, path: `${SERVICE_PREFIX}${m.name}`, headers, body: Buffer.alloc(0), unsupportedEncoding: false };
      const a = await streamBody(s.url, r.path, size, headers);
      expect(problemWith(r, a), what).toBeUndefined();
      expect("status" in a && a.status, what).toBe(codeToHttpStatus(Code.ResourceExhausted));
      expect("body" in a && a.body.toString(), what).toContain(`larger than configured readMaxBytes ${READ_MAX_BYTES}`);
    }
    memory.push(["after the oversized bodies", memoryMb()]);
  });

  it("refuses headers past Node's limit with 431 and keeps serving", async () => {
    const r: WireRequest = {
      httpMethod: "POST",
      rpc: METHODS[0],
      path: `${SERVICE_PREFIX}${METHODS[0]!.name}`,
      headers: { "content-type": "application/json" },
      body: Buffer.from("{}"),
      unsupportedEncoding: false,
      hugeHeaderBytes: 1024 * 1024,
    };
    const a = await send(s.url, r, false);
    expect("status" in a ? a.status : a.error).toBe(431);
  });

  it("still issues a coupon to a well-formed call after the storm, its memory bounded", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 2, startInMs: -1000, name: "after the storm" });
    const viaJson = await s.json.issueCoupon({ campaignId, userId: "after-json" });
    const viaBinary = await s.binary.issueCoupon({ campaignId, userId: "after-binary" });
    expect(isWellFormedCode(viaJson.couponCode)).toBe(true);
    expect(isWellFormedCode(viaBinary.couponCode)).toBe(true);
    expect(new Set([viaJson.sequence, viaBinary.sequence])).toEqual(new Set([1n, 2n]));
    memory.push(["at the end", memoryMb()]);
    console.log(`ISSUE_PATH=${issuePath}: memory in MB ${memory.map(([when, m]) => `${when}: rss ${m.rss}, heap ${m.heap}, buffers ${m.external}`).join("; ")}`);
    const [before, after] = [memory[0]![1], memory[memory.length - 1]![1]];
    expect(after.rss - before.rss).toBeLessThan(RSS_GROWTH_MAX_MB);
    // What a leak would look like: live objects (after a full collection) that stay.
    expect(after.heap - before.heap).toBeLessThan(HEAP_GROWTH_MAX_MB);
  });
});
