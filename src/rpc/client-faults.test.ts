import { request } from "node:http";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CouponService } from "../gen/couponpb/coupon_pb.js";
import { startTestService, stopTestService, type TestService } from "../testing/harness.js";
import { SERVICE_PREFIX } from "./mount.js";

/**
 * Requests whose bytes do not decode are the client's fault: `invalid_argument`, as connect-go
 * answers them, never connect-es's `internal` (500). Both IssueCoupon paths, every method.
 */
type Answer = { status: number; type: string; body: string; grpcStatus: string | undefined };

function send(base: string, method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers: body ? { ...headers, "content-length": String(body.length) } : headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("latin1");
        resolve({
          status: res.statusCode ?? 0,
          type: String(res.headers["content-type"]),
          body: text,
          // In a trailer, in the headers of a "Trailers-Only" answer, or (gRPC-Web) in the body.
          grpcStatus: res.trailers["grpc-status"] ?? (res.headers["grpc-status"] as string | undefined) ?? /grpc-status: *(\d+)/.exec(text)?.[1],
        });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

const GARBAGE = Buffer.from([0xff, 0xff, 0xff, 0x01, 0x02]); // field 524287, wire type 7: not protobuf
const envelope = (payload: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 0, payload.length]), payload]);
const invalidArgument = (message: string) => ({ status: 400, type: "application/json", body: JSON.stringify({ code: "invalid_argument", message }) });

describe.each(["fast", "connect"] as const)("undecodable requests, ISSUE_PATH=%s", (issuePath) => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService({ ISSUE_PATH: issuePath });
  });
  afterAll(async () => {
    if (s) await stopTestService(s);
  });

  it("answers a binary body that is not protobuf with invalid_argument on every method", async () => {
    for (const m of CouponService.methods) {
      const a = await send(s.url, "POST", `${SERVICE_PREFIX}${m.name}`, { "content-type": "application/proto" }, GARBAGE);
      expect({ status: a.status, type: a.type, body: a.body }, m.name).toEqual(
        invalidArgument("parse binary: illegal tag: field no 524287 wire type 7"),
      );
    }
  });

  it("answers a truncated gzip body with invalid_argument", async () => {
    const gz = gzipSync(Buffer.from(JSON.stringify({ campaignId: "1" })));
    const a = await send(s.url, "POST", `${SERVICE_PREFIX}IssueCoupon`, { "content-type": "application/json", "content-encoding": "gzip" }, gz.subarray(0, gz.length - 4));
    expect({ status: a.status, type: a.type, body: a.body }).toEqual(invalidArgument("decompression failed"));
  });

  it("answers a GET whose base64 message is not base64 with invalid_argument", async () => {
    const a = await send(s.url, "GET", `${SERVICE_PREFIX}GetCampaign?encoding=proto&base64=1&message=%7Bnot-base64%7D&connect=v1`, {});
    expect({ status: a.status, type: a.type, body: a.body }).toEqual(invalidArgument("message is not valid base64"));
  });

  it("answers gRPC and gRPC-Web JSON that V8 reports with half a surrogate pair, instead of hanging", async () => {
    // U+4F0DA then `"}`: JSON.parse's message quotes one UTF-16 unit of it, which connect-es
    // cannot percent-encode into grpc-message.
    const astral = Buffer.from([0xf1, 0x8f, 0x83, 0x9a, 0x22, 0x7d]);
    for (const type of ["application/grpc+json", "application/grpc-web+json"]) {
      const a = await send(s.url, "POST", `${SERVICE_PREFIX}IssueCoupon`, { "content-type": type, te: "trailers" }, envelope(astral));
      expect({ status: a.status, grpcStatus: a.grpcStatus }, type).toEqual({ status: 200, grpcStatus: "3" });
    }
  });

  it("answers an undecodable gRPC and gRPC-Web message with INVALID_ARGUMENT (3), not INTERNAL (13)", async () => {
    for (const type of ["application/grpc", "application/grpc-web+proto"]) {
      const a = await send(s.url, "POST", `${SERVICE_PREFIX}IssueCoupon`, { "content-type": type, te: "trailers" }, envelope(GARBAGE));
      expect({ status: a.status, grpcStatus: a.grpcStatus }, type).toEqual({ status: 200, grpcStatus: "3" });
    }
  });
});
