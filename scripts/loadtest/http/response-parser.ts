/**
 * An incremental HTTP/1.1 response parser for one keep-alive connection that carries one request
 * at a time: bytes go in as they arrive, a whole response comes out once its body is complete.
 * It understands exactly what a Connect unary answer can use: `content-length` or
 * `transfer-encoding: chunked` bodies, and `connection: close`.
 */
export type HttpResponse = {
  status: number;
  body: string;
  /** The server said `connection: close`: this socket must not carry another request. */
  close: boolean;
};

export class ResponseParseError extends Error {
  override readonly name = "ResponseParseError";
}

const HEADER_END = Buffer.from("\r\n\r\n");
const CRLF = Buffer.from("\r\n");

export class ResponseParser {
  private buffer: Buffer | undefined;

  /** Adds bytes; returns the response once complete, else undefined. Throws on malformed input. */
  push(chunk: Buffer): HttpResponse | undefined {
    this.buffer = this.buffer === undefined ? chunk : Buffer.concat([this.buffer, chunk]);
    const buf = this.buffer;
    const headerEnd = buf.indexOf(HEADER_END);
    if (headerEnd < 0) return undefined;
    const head = buf.toString("latin1", 0, headerEnd);
    const status = Number(head.slice(9, 12));
    if (!head.startsWith("HTTP/1.") || !Number.isInteger(status)) {
      throw new ResponseParseError(`not an HTTP/1.x status line: ${JSON.stringify(head.slice(0, 40))}`);
    }
    const headers = parseHeaders(head);
    const bodyStart = headerEnd + HEADER_END.length;
    const body = headers.chunked ? readChunked(buf, bodyStart) : readSized(buf, bodyStart, headers.contentLength);
    if (body === undefined) return undefined;
    if (body.end !== buf.length) throw new ResponseParseError("bytes after the response on a non-pipelined connection");
    this.buffer = undefined;
    return { status, body: body.text, close: headers.close };
  }

  /** Forgets a partial response (the connection it came from is gone). */
  reset(): void {
    this.buffer = undefined;
  }
}

type Headers = { contentLength: number; chunked: boolean; close: boolean };

/** Finds the three headers that matter with indexOf on the lower-cased head: no per-line split on the hot path. */
function parseHeaders(head: string): Headers {
  const h = head.toLowerCase();
  const out: Headers = {
    contentLength: Number(headerValue(h, "content-length") ?? -1),
    chunked: headerValue(h, "transfer-encoding")?.includes("chunked") ?? false,
    close: headerValue(h, "connection") === "close",
  };
  if (!out.chunked && !(out.contentLength >= 0)) {
    throw new ResponseParseError("response has neither content-length nor chunked encoding");
  }
  return out;
}

function headerValue(head: string, name: string): string | undefined {
  const at = head.indexOf(`\r\n${name}:`);
  if (at < 0) return undefined;
  const start = at + name.length + 3;
  const end = head.indexOf("\r\n", start);
  return head.slice(start, end < 0 ? head.length : end).trim();
}

type Body = { text: string; end: number };

function readSized(buf: Buffer, start: number, length: number): Body | undefined {
  const end = start + length;
  return buf.length < end ? undefined : { text: buf.toString("utf8", start, end), end };
}

/** Decodes a chunked body; undefined until its last (zero-size) chunk and trailer are in. */
function readChunked(buf: Buffer, start: number): Body | undefined {
  const parts: Buffer[] = [];
  let pos = start;
  for (;;) {
    const lineEnd = buf.indexOf(CRLF, pos);
    if (lineEnd < 0) return undefined;
    const size = parseInt(buf.toString("latin1", pos, lineEnd), 16);
    if (!Number.isInteger(size) || size < 0) throw new ResponseParseError("bad chunk size");
    if (size === 0) {
      // No trailers are expected: the body ends with the empty line after the zero chunk.
      const end = buf.indexOf(CRLF, lineEnd + CRLF.length);
      if (end < 0) return undefined;
      return { text: Buffer.concat(parts).toString("utf8"), end: end + CRLF.length };
    }
    const dataStart = lineEnd + CRLF.length;
    const dataEnd = dataStart + size;
    if (buf.length < dataEnd + CRLF.length) return undefined;
    parts.push(buf.subarray(dataStart, dataEnd));
    pos = dataEnd + CRLF.length;
  }
}
