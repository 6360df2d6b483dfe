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
      '{"campaignId":"9223372036854775807","userId":"max"}',
      '{"campaignId":"9223372036854775808","userId":"past int64"}',
      '{"campaignId":"9999999999999999999"}',
      '{"campaignId":"1","userId":"tab\there"}',
      '{"campaignId":"1","userId":"quote\\"inside"}',
      '{"campaignId":"1","userId":"del\u007f"}',
      '{"campaignId":"1","userId":"a"} ',
      '{"campaignId":"1","userId":"a"}x',
      '{"campaignId":"1","userId":"a"',
      '{"campaignId":"1"',
      '{"campaignId":"","userId":"a"}',
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

  it("reads the usual bodies straight from their bytes exactly as protobuf-es does, any user id included", () => {
    const users = ["", "alice", "밥", "user-123_ABC.xyz@example.com", "émile", "😀", "\u007f", "a b", "x".repeat(128)];
    for (const campaignId of ["0", "7", "123456789012345", "1234567890123456", "9223372036854775807"]) {
      for (const userId of users) {
        const text = userId === "" && campaignId.length % 2 === 0 ? `{"campaignId":"${campaignId}"}` : JSON.stringify({ campaignId, userId });
        const body = Buffer.from(text);
        expect(readIssueRequest(body), text).toEqual(fullPath(body));
      }
    }
    // A user id whose bytes are not UTF-8 (here a lone continuation byte) is left to the full path, which refuses it.
    const bad = Buffer.concat([Buffer.from('{"campaignId":"1","userId":"a'), Buffer.from([0x80]), Buffer.from('"}')]);
    expect(readIssueRequest(bad)).toBeUndefined();
    expect(fullPath(bad)).toBe("refused");
  });

  it("writes the bytes protobuf-es writes", () => {
    for (const [code, sequence] of [["듲섎71쵛댛홡", 1n], ["0123456789", 9007199254740993n], ['a"b\\c', 5n]] as const) {
      expect(writeIssueResponse(code, sequence)).toBe(toJsonString(IssueCouponResponseSchema, create(IssueCouponResponseSchema, { couponCode: code, sequence })));
    }
  });
});
