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
 * what cannot be decoded yet is kept and decoded once the rest has come. Only what this project's
 * own connections read is needed (src/redis/script-pipe.ts: the issue script's replies, the
 * persister's XREADGROUP batches, the handshake): integers, simple and bulk strings, errors and
 * (nested) arrays.
 *
 * A batch of 2,000 stream entries is ~180 KB, several socket reads: the kept part grows in a buffer
 * of its own and `ReplyScanner` walks it, from where it stopped, without decoding anything, so a
 * big reply is decoded once, when it is whole, instead of once per chunk (each try decoding every
 * string again).
 */
export class RespReader {
  /** The start of a reply that is not complete yet, in `kept[0, keptLength)`. */
  private kept: Buffer | undefined;
  private keptLength = 0;
  private readonly scanner = new ReplyScanner();
  /** Set by `parse` next to its returned offset, so that decoding allocates only the values. */
  private value: Reply = null;

  /** Feeds one chunk; calls `onReply` for every reply it completes, in order. */
  feed(chunk: Buffer, onReply: (reply: Reply) => void): void {
    if (!this.kept) {
      this.decodeAll(chunk, onReply);
      return;
    }
    this.keep(chunk, 0);
    if (this.scanner.scan(this.kept!.subarray(0, this.keptLength)) === INCOMPLETE) return;
    const whole = this.kept.subarray(0, this.keptLength);
    this.kept = undefined;
    this.keptLength = 0;
    this.decodeAll(whole, onReply);
  }

  /** Drops a partial reply (the connection it came on is gone). */
  reset(): void {
    this.kept = undefined;
    this.keptLength = 0;
    this.scanner.reset();
  }

  private decodeAll(buf: Buffer, onReply: (reply: Reply) => void): void {
    let at = 0;
    while (at < buf.length) {
      const next = this.parse(buf, at);
      if (next === INCOMPLETE) {
        this.scanner.reset();
        this.keep(buf, at);
        this.scanner.scan(this.kept!.subarray(0, this.keptLength));
        return;
      }
      at = next;
      onReply(this.value);
    }
  }

  /** Appends `buf[from…]` to the kept part, growing its buffer by doubling. */
  private keep(buf: Buffer, from: number): void {
    const adding = buf.length - from;
    const needed = this.keptLength + adding;
    if (!this.kept || this.kept.length < needed) {
      const grown = Buffer.allocUnsafe(Math.max(needed, 2 * (this.kept?.length ?? 0), 16 * 1024));
      this.kept?.copy(grown, 0, 0, this.keptLength);
      this.kept = grown;
    }
    buf.copy(this.kept, this.keptLength, from);
    this.keptLength = needed;
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

/**
 * Finds where one reply, starting at offset 0 of a buffer that keeps growing, ends, without
 * decoding it: each call goes on from where the last one stopped (the arrays still open and how
 * many items each still needs), so the bytes of a reply that arrives in many chunks are walked once.
 */
class ReplyScanner {
  /** Offset of the next value to walk. */
  private at = 0;
  /** Items still to come in each array opened and not finished, innermost last. */
  private readonly open: number[] = [];

  reset(): void {
    this.at = 0;
    this.open.length = 0;
  }

  /** The reply's end in `buf`, or INCOMPLETE (then call again with `buf` and what has come since). */
  scan(buf: Buffer): number {
    const length = buf.length;
    for (;;) {
      const at = this.at;
      const lineEnd = buf.indexOf(CR, at + 1);
      if (lineEnd < 0 || lineEnd + 1 >= length) return INCOMPLETE;
      let next = lineEnd + 2;
      const type = buf[at];
      if (type === 0x24) {
        const size = integerAt(buf, at + 1, lineEnd);
        if (size >= 0) next += size + 2;
        if (next > length) return INCOMPLETE;
      } else if (type === 0x2a) {
        const count = integerAt(buf, at + 1, lineEnd);
        if (count > 0) {
          this.open.push(count);
          this.at = next;
          continue;
        }
      }
      // One whole value ends at `next`: close every array it completes.
      this.at = next;
      while (this.open.length > 0 && --this.open[this.open.length - 1]! === 0) this.open.pop();
      if (this.open.length === 0) {
        this.reset();
        return next;
      }
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
