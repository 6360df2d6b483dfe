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

const INT64_MAX = 9223372036854775807n;

export function readIssueRequest(body: Uint8Array): IssueCouponRequest | undefined {
  return readUsualIssueRequest(body) ?? readCompactIssueRequest(body);
}

/**
 * The two bodies nearly every caller sends, `{"campaignId":"<digits>","userId":"<string>"}` and
 * `{"campaignId":"<digits>"}`, read straight from the bytes: no decoded copy of the body, no parsed
 * object and no re-serialised text per call (the general reader below allocates all three). A user
 * id with an escape, a control character or bytes that are not UTF-8, and every other shape, is
 * left to the general reader, so what is read here is exactly what it would read.
 */
const CAMPAIGN_KEY = bytes('{"campaignId":"');
const USER_KEY = bytes('","userId":"');

function readUsualIssueRequest(body: Uint8Array): IssueCouponRequest | undefined {
  const n = body.length;
  if (n < CAMPAIGN_KEY.length + 3 || !startsWith(body, CAMPAIGN_KEY, 0)) return undefined;
  // Digits of the campaign id: 0, or 1–19 digits without a leading zero, within int64.
  let i = CAMPAIGN_KEY.length;
  const digitsAt = i;
  while (i < n && body[i]! >= 0x30 && body[i]! <= 0x39) i++;
  const digits = i - digitsAt;
  if (digits === 0 || digits > 19 || (digits > 1 && body[digitsAt] === 0x30)) return undefined;
  const campaignId = digits <= 15 ? BigInt(digitValue(body, digitsAt, i)) : BigInt(latin1(body, digitsAt, i));
  if (campaignId > INT64_MAX) return undefined;
  if (n === i + 2 && body[i] === 0x22 && body[i + 1] === 0x7d) return request(campaignId, "");
  if (!startsWith(body, USER_KEY, i)) return undefined;
  i += USER_KEY.length;
  const userAt = i;
  let ascii = true;
  for (; i < n; i++) {
    const b = body[i]!;
    if (b === 0x22) break;
    if (b === 0x5c || b < 0x20) return undefined;
    if (b >= 0x80) ascii = false;
  }
  if (n !== i + 2 || body[i] !== 0x22 || body[i + 1] !== 0x7d) return undefined;
  let userId: string;
  if (ascii) userId = latin1(body, userAt, i);
  else {
    try {
      userId = utf8.decode(body.subarray(userAt, i));
    } catch {
      return undefined;
    }
  }
  return request(campaignId, userId);
}

function request(campaignId: bigint, userId: string): IssueCouponRequest {
  return { $typeName: "couponpb.IssueCouponRequest", campaignId, userId };
}

function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function startsWith(body: Uint8Array, prefix: Uint8Array, at: number): boolean {
  if (body.length - at < prefix.length) return false;
  for (let j = 0; j < prefix.length; j++) if (body[at + j] !== prefix[j]) return false;
  return true;
}

function digitValue(body: Uint8Array, from: number, to: number): number {
  let v = 0;
  for (let j = from; j < to; j++) v = v * 10 + (body[j]! - 0x30);
  return v;
}

/** ASCII bytes as a string (Buffer's latin1 slice: one copy, no UTF-8 decoding). */
function latin1(body: Uint8Array, from: number, to: number): string {
  return Buffer.prototype.latin1Slice.call(body, from, to) as string;
}

/** The general reader: any order of the two keys, a numeric campaign id, anything compact. */
function readCompactIssueRequest(body: Uint8Array): IssueCouponRequest | undefined {
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
      if (typeof value === "string" && DIGITS.test(value) && BigInt(value) <= INT64_MAX) campaignId = BigInt(value);
      else if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) campaignId = BigInt(value);
      else return undefined;
    } else if (key === "userId") {
      if (typeof value !== "string") return undefined;
      userId = value;
    } else {
      return undefined;
    }
  }
  return request(campaignId, userId);
}

/**
 * The JSON protobuf-es's toJsonString writes for an IssueCouponResponse, byte for byte: fields
 * in number order, int64 as a string, defaults left out (a code is never empty, a sequence
 * never 0). src/rpc/wire.test.ts compares the two.
 */
export function writeIssueResponse(code: string, sequence: bigint | number): string {
  return `{"couponCode":${JSON.stringify(code)},"sequence":"${sequence}"}`;
}
