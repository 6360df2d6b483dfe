import { encodeCode } from "./code-format.js";
import { CodePermutation } from "./permutation.js";

/**
 * Turns global counter values into coupon codes. Counters are handed out by MySQL
 * (`code_allocator`), one disjoint range per campaign, so codes never collide across campaigns.
 */
export class CodeGenerator {
  private readonly permutation: CodePermutation;

  constructor(secret: Uint8Array) {
    this.permutation = new CodePermutation(secret);
  }

  /** Codes for counters `first … first+count-1`, in counter order. */
  codes(first: number, count: number): string[] {
    const { hi, lo } = this.permutation.permuteRange(first, count);
    const out = new Array<string>(count);
    for (let i = 0; i < count; i++) out[i] = encodeCode(hi[i]!, lo[i]!);
    return out;
  }
}
