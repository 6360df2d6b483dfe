import { describe, expect, it } from "vitest";
import { ResponseParseError, ResponseParser } from "./response-parser.js";

const head = (extra: string) => `HTTP/1.1 200 OK\r\n${extra}\r\n`;

describe("ResponseParser", () => {
  it("returns a content-length response once its last byte is in, however it was split", () => {
    const body = '{"a":"가나"}'; // 14 bytes: Hangul syllables are 3 bytes each in UTF-8
    const raw = Buffer.from(`${head(`Content-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json`)}\r\n${body}`);
    for (let cut = 1; cut < raw.length; cut++) {
      const p = new ResponseParser();
      expect(p.push(raw.subarray(0, cut))).toBeUndefined();
      expect(p.push(raw.subarray(cut))).toEqual({ status: 200, body, close: false });
    }
  });

  it("decodes a chunked body", () => {
    const p = new ResponseParser();
    const raw = `${head("transfer-encoding: chunked")}\r\n4\r\n{"a"\r\n4\r\n:12}\r\n0\r\n\r\n`;
    expect(p.push(Buffer.from(raw))).toEqual({ status: 200, body: '{"a":12}', close: false });
  });

  it("reads the status and connection: close of an error answer", () => {
    const p = new ResponseParser();
    const raw = 'HTTP/1.1 429 Too Many Requests\r\ncontent-length: 29\r\nConnection: close\r\n\r\n{"code":"resource_exhausted"}';
    expect(p.push(Buffer.from(raw))).toEqual({ status: 429, body: '{"code":"resource_exhausted"}', close: true });
  });

  it("parses the next response on the same connection from a clean state", () => {
    const p = new ResponseParser();
    const one = Buffer.from(`${head("content-length: 2")}\r\n{}`);
    expect(p.push(one)?.body).toBe("{}");
    expect(p.push(one)?.body).toBe("{}");
  });

  it("refuses bytes that are not an HTTP/1.x response, and bodies it cannot delimit", () => {
    expect(() => new ResponseParser().push(Buffer.from("SSH-2.0-OpenSSH\r\n\r\n"))).toThrow(ResponseParseError);
    expect(() => new ResponseParser().push(Buffer.from(`${head("x: y")}\r\n`))).toThrow(/neither content-length nor chunked/);
  });
});
