import { request } from "node:http";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isWellFormedCode } from "../codes/code-format.js";
import { IssueCouponRequestSchema, IssueCouponResponseSchema } from "../gen/couponpb/coupon_pb.js";
import { fastHandlerStats } from "./issue-fast-handler.js";
import { startTestService, stopTestService, type TestService } from "../testing/harness.js";

/**
 * IssueCoupon's dedicated handler must be indistinguishable from connect-es's own. Two instances,
 * one per path, get the same campaigns and the same requests in the same order; every answer
 * (status, content type, body) must match, codes aside (each instance has its own secret).
 */
let fast: TestService;
let generic: TestService;
const START_LATER_MS = Date.now() + 3_600_000;

async function prepare(s: TestService) {
  const past = timestampFromMs(Date.now() - 1000);
  await s.json.createCampaign({ name: "tiny", startTime: past, totalCoupons: 2n }); // 1: sold out below
  await s.json.createCampaign({ name: "later", startTime: timestampFromMs(START_LATER_MS), totalCoupons: 5n }); // 2
  await s.json.createCampaign({ name: "open", startTime: past, totalCoupons: 1000n }); // 3
  await s.deps.loader.idle();
  await s.json.issueCoupon({ campaignId: 1n });
  await s.json.issueCoupon({ campaignId: 1n });
}

beforeAll(async () => {
  [fast, generic] = await Promise.all([startTestService({ ISSUE_PATH: "fast" }), startTestService({ ISSUE_PATH: "connect" })]);
  await Promise.all([prepare(fast), prepare(generic)]);
});
afterAll(async () => {
  await Promise.all([fast && stopTestService(fast), generic && stopTestService(generic)]);
});

type Raw = { method?: string; headers: Record<string, string>; body?: Buffer | string };
type Answer = { status: number; contentType: string | undefined; body: unknown };

function send(base: string, r: Raw): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/couponpb.CouponService/IssueCoupon`, { method: r.method ?? "POST", headers: r.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end(r.body);
  });
}

/** The answer with the instance-specific coupon code replaced by a marker (after checking it). */
async function answer(s: TestService, r: Raw): Promise<Answer> {
  const res = await send(s.url, r);
  const contentType = res.headers["content-type"] as string | undefined;
  let body: unknown = res.body.toString("utf8");
  if (contentType === "application/proto" && res.status === 200) {
    const msg = fromBinary(IssueCouponResponseSchema, res.body);
    expect(isWellFormedCode(msg.couponCode)).toBe(true);
    body = { sequence: msg.sequence.toString(), couponCode: "<code>" };
  } else if (contentType?.startsWith("application/json") && res.body.length > 0) {
    const json = JSON.parse(res.body.toString("utf8")) as Record<string, unknown>;
    if (typeof json.couponCode === "string") {
      expect(isWellFormedCode(json.couponCode)).toBe(true);
      json.couponCode = "<code>";
    }
    body = json;
  }
  return { status: res.status, contentType, body };
}

const json = (o: unknown) => JSON.stringify(o);
const proto = (campaignId: bigint, userId = "") => Buffer.from(toBinary(IssueCouponRequestSchema, create(IssueCouponRequestSchema, { campaignId, userId })));
const JSON_CT = { "content-type": "application/json" };
const PROTO_CT = { "content-type": "application/proto" };

const CASES: Array<[string, Raw]> = [
  ["a JSON success", { headers: JSON_CT, body: json({ campaignId: "3", userId: "a" }) }],
  ["the same user again", { headers: JSON_CT, body: json({ campaignId: 3, userId: "a" }) }],
  ["a binary success", { headers: PROTO_CT, body: proto(3n, "b") }],
  ["a JSON content type with charset", { headers: { "content-type": "application/json; charset=utf-8" }, body: json({ campaignId: "3" }) }],
  ["a Connect-Protocol-Version header", { headers: { ...JSON_CT, "connect-protocol-version": "1" }, body: json({ campaignId: "3" }) }],
  ["a snake_case field name", { headers: JSON_CT, body: json({ campaign_id: "3", user_id: "c" }) }],
  ["an unknown JSON field", { headers: JSON_CT, body: json({ campaignId: "3", shoeSize: 44 }) }],
  ["a gzip JSON body", { headers: { ...JSON_CT, "content-encoding": "gzip" }, body: gzipSync(json({ campaignId: "3", userId: "d" })) }],
  ["a gzip binary body", { headers: { ...PROTO_CT, "content-encoding": "gzip" }, body: gzipSync(proto(3n, "e")) }],
  ["a brotli body", { headers: { ...JSON_CT, "content-encoding": "br" }, body: brotliCompressSync(json({ campaignId: "3" })) }],
  ["a valid timeout header", { headers: { ...JSON_CT, "connect-timeout-ms": "5000" }, body: json({ campaignId: "3" }) }],
  ["a sold-out campaign", { headers: JSON_CT, body: json({ campaignId: "1" }) }],
  ["a sold-out campaign in binary", { headers: PROTO_CT, body: proto(1n) }],
  ["a campaign not started", { headers: JSON_CT, body: json({ campaignId: "2" }) }],
  ["an unknown campaign", { headers: JSON_CT, body: json({ campaignId: "424242" }) }],
  ["a zero campaign id", { headers: JSON_CT, body: json({}) }],
  ["a negative campaign id", { headers: PROTO_CT, body: proto(-7n) }],
  ["a huge user id", { headers: JSON_CT, body: json({ campaignId: "3", userId: "x".repeat(200) }) }],
  ["malformed JSON", { headers: JSON_CT, body: "{campaignId: 3" }],
  ["a wrongly typed field", { headers: JSON_CT, body: json({ campaignId: "three" }) }],
  ["a number too large for int64", { headers: JSON_CT, body: json({ campaignId: "99999999999999999999999" }) }],
  ["garbage binary", { headers: PROTO_CT, body: Buffer.from([0xff, 0xff, 0xff, 0x01, 0x02]) }],
  ["an empty JSON body", { headers: JSON_CT, body: "" }],
  ["a corrupt gzip body", { headers: { ...JSON_CT, "content-encoding": "gzip" }, body: "not gzip" }],
  ["an unknown content encoding", { headers: { ...JSON_CT, "content-encoding": "zstd" }, body: json({ campaignId: "3" }) }],
  ["an invalid timeout header", { headers: { ...JSON_CT, "connect-timeout-ms": "soon" }, body: json({ campaignId: "3" }) }],
  ["a body over the size limit", { headers: JSON_CT, body: json({ campaignId: "3", userId: "x".repeat(100_000) }) }],
  ["a plain-text content type", { headers: { "content-type": "text/plain" }, body: json({ campaignId: "3" }) }],
  ["no content type", { headers: {}, body: json({ campaignId: "3" }) }],
  ["a streaming content type", { headers: { "content-type": "application/connect+json" }, body: json({ campaignId: "3" }) }],
  ["a GET", { method: "GET", headers: {} }],
];

describe("IssueCoupon's dedicated handler", () => {
  it("answers every case exactly as the connect-es handler does", async () => {
    const servedBefore = fastHandlerStats.served;
    for (const [what, raw] of CASES) {
      const [a, b] = [await answer(fast, raw), await answer(generic, raw)];
      expect(a, what).toEqual(b);
    }
    // The 17 common cases (successes, domain and validation errors, gzip) were answered by the
    // fast handler itself; the rest (bad bodies, brotli, odd headers) went to connect-es.
    expect(fastHandlerStats.served - servedBefore).toBe(17);
  });

  it("gives the official connect-es clients the same results and errors on both paths", async () => {
    const outcome = async (s: TestService, format: "json" | "binary", campaignId: bigint, userId: string) => {
      const client = format === "json" ? s.json : s.binary;
      try {
        const r = await client.issueCoupon({ campaignId, userId });
        return { sequence: r.sequence, wellFormed: isWellFormedCode(r.couponCode) };
      } catch (e) {
        const err = ConnectError.from(e);
        return { code: err.code, message: err.rawMessage };
      }
    };
    for (const format of ["json", "binary"] as const) {
      for (const [campaignId, userId] of [[3n, `client-${format}`], [3n, `client-${format}`], [1n, ""], [2n, ""], [77777n, ""], [0n, ""]] as const) {
        expect(await outcome(fast, format, campaignId, userId), `${format} ${campaignId}`).toEqual(
          await outcome(generic, format, campaignId, userId),
        );
      }
    }
  });
});
