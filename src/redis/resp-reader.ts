/** An error reply (`-NOSCRIPT …`, `-ERR …`): Redis refused or failed the command. */
export class RedisReplyError extends Error {
  override readonly name = "RedisReplyError";
}

/** A decoded RESP2 reply: integers as numbers, bulk strings as UTF-8 strings, nil as null. */
export type Reply = number | string | null | RedisReplyError | Reply[];

const CR = 13;
/** Marks "the reply is not complete in the buffer yet". */
const INCOMPLETE = -1;

/**
 * Decodes the RESP2 replies of one connection from the chunks its socket delivers, in order.
 * A reply may arrive split anywhere (inside a number, inside a multi-byte character of a code):
 * what cannot be decoded yet is kept and decoded with the next chunk. Only what the issue
 * script and the connection's handshake answer is needed: integers, simple and bulk strings,
 * errors and (nested) arrays.
 */
export class RespReader {
  private pending: Buffer | undefined;
  /** Set by `parse` next to its returned offset, so that decoding allocates only the values. */
  private value: Reply = null;

  /** Feeds one chunk; calls `onReply` for every reply it completes, in order. */
  feed(chunk: Buffer, onReply: (reply: Reply) => void): void {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let at = 0;
    while (at < buf.length) {
      const next = this.parse(buf, at);
      if (next === INCOMPLETE) {
        this.pending = buf.subarray(at);
        return;
      }
      at = next;
      onReply(this.value);
    }
  }

  /** Drops a partial reply (the connection it came on is gone). */
  reset(): void {
    this.pending = undefined;
  }

  /** Decodes one reply at `at` into `this.value`; returns the offset after it, or INCOMPLETE. */
  private parse(buf: Buffer, at: number): number {
    const lineEnd = buf.indexOf(CR, at + 1);
    if (lineEnd < 0 || lineEnd + 1 >= buf.length) return INCOMPLETE;
    const type = buf[at];
    const after = lineEnd + 2;
    switch (type) {
      case 0x3a: // ':' integer
        this.value = integerAt(buf, at + 1, lineEnd);
        return after;
      case 0x2b: // '+' simple string
        this.value = buf.toString("utf8", at + 1, lineEnd);
        return after;
      case 0x2d: // '-' error
        this.value = new RedisReplyError(buf.toString("utf8", at + 1, lineEnd));
        return after;
      case 0x24: {
        // '$' bulk string
        const length = integerAt(buf, at + 1, lineEnd);
        if (length < 0) {
          this.value = null;
          return after;
        }
        if (after + length + 2 > buf.length) return INCOMPLETE;
        this.value = buf.toString("utf8", after, after + length);
        return after + length + 2;
      }
      case 0x2a: {
        // '*' array
        const count = integerAt(buf, at + 1, lineEnd);
        if (count < 0) {
          this.value = null;
          return after;
        }
        const items: Reply[] = new Array<Reply>(count);
        let next = after;
        for (let i = 0; i < count; i++) {
          if (next >= buf.length) return INCOMPLETE;
          next = this.parse(buf, next);
          if (next === INCOMPLETE) return INCOMPLETE;
          items[i] = this.value;
        }
        this.value = items;
        return next;
      }
      default:
        throw new Error(`Redis sent a reply this client cannot read (type byte ${type})`);
    }
  }
}

/** The decimal integer in buf[from, to), sign included, without allocating a string. */
function integerAt(buf: Buffer, from: number, to: number): number {
  let i = from;
  let sign = 1;
  if (buf[i] === 0x2d) {
    sign = -1;
    i++;
  }
  let n = 0;
  for (; i < to; i++) n = n * 10 + (buf[i]! - 0x30);
  return sign * n;
}
