/**
 * A Bloom filter of user ids: "certainly not in the set" or "maybe in it". After a sell-out the
 * set of a campaign's holders never changes (the pool refills only through a rebuild), so an
 * instance may refuse a named caller the filter has never seen without asking Redis, and never
 * refuse a holder: a Bloom filter has false positives (those callers ask Redis, as before) but no
 * false negatives. About 10 bits per holder for ~1 % false positives: 1.2 MB for a million.
 */
export class HoldersFilter {
  private readonly bits: Uint32Array;
  private readonly size: number;
  private static readonly HASHES = 7;

  /**
   * Sized for `expected` holders at a false-positive rate of `falsePositives` (1 % by default:
   * ~10 bits per holder). A campaign of K sub-pools asks up to K filters about one caller, so each
   * of its filters gets 1/K of the rate (~14 bits per holder for K = 8) and the campaign keeps 1 %.
   */
  constructor(expected: number, falsePositives = 0.01) {
    // With HASHES probes, a rate p needs b = −HASHES / ln(1 − p^(1/HASHES)) bits per holder.
    const bitsPerHolder = -HoldersFilter.HASHES / Math.log(1 - falsePositives ** (1 / HoldersFilter.HASHES));
    this.size = Math.max(1024, Math.ceil(expected * bitsPerHolder));
    this.bits = new Uint32Array(Math.ceil(this.size / 32));
  }

  add(user: string): void {
    const [h1, h2] = hashes(user);
    for (let i = 0; i < HoldersFilter.HASHES; i++) {
      const bit = (h1 + i * h2) % this.size;
      this.bits[bit >>> 5]! |= 1 << (bit & 31);
    }
  }

  mayHold(user: string): boolean {
    const [h1, h2] = hashes(user);
    for (let i = 0; i < HoldersFilter.HASHES; i++) {
      const bit = (h1 + i * h2) % this.size;
      if ((this.bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

const pair: [number, number] = [0, 0];

/** Two independent 32-bit hashes (FNV-1a and a murmur-style mix) for double hashing; reuses one pair. */
function hashes(s: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  pair[0] = a >>> 0;
  pair[1] = (b | 1) >>> 0; // odd, so the probes of one key never collapse onto one bit
  return pair;
}
