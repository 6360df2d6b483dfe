import type { IssueCouponRequest } from "../gen/couponpb/coupon_pb.js";

/**
 * IssueCoupon's JSON, read and written without protobuf-es's reflection for the one shape every
 * client sends: `{"campaignId": "<digits>", "userId": "<string>"}` (either field may be absent,
 * in any order, the campaign id also as a JSON number), written compactly. Anything else (other
 * keys, proto field names, nulls, other types, whitespace, escapes, duplicate keys, bad UTF-8) is
 * not read here: `readIssueRequest` answers undefined and the caller takes the full path
 * (strict-json.ts and protobuf-es), so every unusual body is answered exactly as before.
 */
const utf8 = new TextDecoder("utf-8", { fatal: true });
/** proto3 JSON's integer in a string, within int64 and without sign, spaces or leading zeros. */
const DIGITS = /^(?:0|[1-9][0-9]{0,18})$/;

export function readIssueRequest(body: Uint8Array): IssueCouponRequest | undefined {
  let text: string;
  let json: unknown;
  try {
    text = utf8.decode(body);
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) return undefined;
  // JSON.parse keeps the last of duplicate keys, where protobuf-es refuses them: only a body that
  // is exactly its own compact form (so has no duplicate, no escape, no space) is read here.
  if (JSON.stringify(json) !== text) return undefined;
  let campaignId = 0n;
  let userId = "";
  for (const key in json) {
    const value = (json as Record<string, unknown>)[key];
    if (key === "campaignId") {
      if (typeof value === "string" && DIGITS.test(value)) campaignId = BigInt(value);
      else if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) campaignId = BigInt(value);
      else return undefined;
    } else if (key === "userId") {
      if (typeof value !== "string") return undefined;
      userId = value;
    } else {
      return undefined;
    }
  }
  return { $typeName: "couponpb.IssueCouponRequest", campaignId, userId };
}

/**
 * The JSON protobuf-es's toJsonString writes for an IssueCouponResponse, byte for byte: fields
 * in number order, int64 as a string, defaults left out (a code is never empty, a sequence
 * never 0). src/rpc/wire.test.ts compares the two.
 */
export function writeIssueResponse(code: string, sequence: bigint | number): string {
  return `{"couponCode":${JSON.stringify(code)},"sequence":"${sequence}"}`;
}
