import { create, fromJsonString, toJsonString } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { IssueCouponRequestSchema, IssueCouponResponseSchema } from "../gen/couponpb/coupon_pb.js";
import { readIssueRequest, writeIssueResponse } from "./issue-json.js";
import { strictJsonText } from "./strict-json.js";

const enc = new TextEncoder();

/** What the full path (strict JSON, then protobuf-es) makes of a body, or "refused". */
function fullPath(body: Uint8Array) {
  try {
    return fromJsonString(IssueCouponRequestSchema, strictJsonText(IssueCouponRequestSchema, body), { ignoreUnknownFields: true });
  } catch {
    return "refused";
  }
}

describe("IssueCoupon's JSON without reflection", () => {
  it("reads what protobuf-es reads, and leaves every other body to the full path", () => {
    const bodies = [
      '{"campaignId":"1","userId":"alice"}',
      '{"userId":"밥","campaignId":"9007199254740993"}',
      '{"campaignId":42}',
      '{"campaignId":"0"}',
      "{}",
      '{"campaignId":"1","userId":""}',
      '{"campaignId":"01"}',
      '{"campaignId":"+1"}',
      '{"campaignId":" 1"}',
      '{"campaignId":"0x1"}',
      '{"campaignId":"1e3"}',
      '{"campaignId":-1}',
      '{"campaignId":1.5}',
      '{"campaign_id":"7","user_id":"u"}',
      '{"campaignId":"1","userId":null}',
      '{"campaignId":"1","userId":7}',
      '{"campaignId":"1","extra":true}',
      '{"campaignId":"1","__proto__":{"x":1}}',
      '{"campaignId":"1","userId":"a","userId":"b"}',
      '{"campaignId":"1","user\\u0049d":"a","userId":"b"}',
      '{ "campaignId": "1", "userId": "a" }',
      '{"campaignId":"1","userId":"\\u00e9"}',
      '{"campaignId":-0}',
      "[]",
      "null",
      "not json",
      '{"campaignId":"99999999999999999999"}',
    ];
    for (const text of bodies) {
      const body = enc.encode(text);
      const fast = readIssueRequest(body);
      if (fast !== undefined) expect(fast, text).toEqual(fullPath(body));
    }
    expect(readIssueRequest(enc.encode('{"campaignId":"1","userId":"alice"}'))).toEqual(
      create(IssueCouponRequestSchema, { campaignId: 1n, userId: "alice" }),
    );
    // Invalid UTF-8 is never read here: the full path refuses it.
    expect(readIssueRequest(new Uint8Array([0x7b, 0x22, 0x75, 0x73, 0x65, 0x72, 0x49, 0x64, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]))).toBeUndefined();
  });

  it("writes the bytes protobuf-es writes", () => {
    for (const [code, sequence] of [["듲섎71쵛댛홡", 1n], ["0123456789", 9007199254740993n], ['a"b\\c', 5n]] as const) {
      expect(writeIssueResponse(code, sequence)).toBe(toJsonString(IssueCouponResponseSchema, create(IssueCouponResponseSchema, { couponCode: code, sequence })));
    }
  });
});
