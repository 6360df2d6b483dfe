import { describe, expect, it } from "vitest";
import { CODE_LENGTH, encodeCode, HANGUL_COUNT, isWellFormedCode } from "./code-format.js";
import { CodeGenerator } from "./generator.js";

const HANGUL_FIRST = 0xac00;
const generator = new CodeGenerator(Buffer.alloc(32, 1));
const sample = generator.codes(1_000, 2_000);

function replaceAt(s: string, i: number, ch: string): string {
  return s.slice(0, i) + ch + s.slice(i + 1);
}

describe("coupon code format", () => {
  it("is 7 characters of Hangul syllables and digits, shaped KKNNKK plus a Hangul check character", () => {
    for (const code of sample) {
      expect(code).toHaveLength(CODE_LENGTH);
      expect(code).toMatch(/^[가-힣]{2}[0-9]{2}[가-힣]{3}$/);
      expect(isWellFormedCode(code)).toBe(true);
    }
  });

  it("rejects every single-character typo in a body position", () => {
    const code = sample[0]!;
    for (let pos = 0; pos < CODE_LENGTH - 1; pos++) {
      const isDigit = pos === 2 || pos === 3;
      const alternatives = isDigit
        ? "0123456789".split("")
        : Array.from({ length: 500 }, (_, k) => String.fromCharCode(HANGUL_FIRST + ((code.charCodeAt(pos) - HANGUL_FIRST + 1 + k * 13) % HANGUL_COUNT)));
      for (const ch of alternatives) {
        if (ch === code[pos]) continue;
        // The one blind spot: 가 and 힣 differ by exactly the check modulus.
        const pair = new Set([code[pos], ch]);
        if (pair.has("가") && pair.has("힣")) continue;
        expect(isWellFormedCode(replaceAt(code, pos, ch)), `${code} with ${ch} at ${pos}`).toBe(false);
      }
    }
  });

  it("rejects a changed check character", () => {
    const code = sample[1]!;
    for (let k = 1; k < 200; k++) {
      const check = String.fromCharCode(HANGUL_FIRST + ((code.charCodeAt(6) - HANGUL_FIRST + k) % HANGUL_COUNT));
      expect(isWellFormedCode(code.slice(0, 6) + check)).toBe(false);
    }
  });

  it("rejects swapped neighbours of the same kind", () => {
    let checked = 0;
    for (const code of sample.slice(0, 300)) {
      for (const pos of [0, 2, 4, 5]) {
        if (code[pos] === code[pos + 1]) continue;
        const swapped = code.slice(0, pos) + code[pos + 1] + code[pos] + code.slice(pos + 2);
        expect(isWellFormedCode(swapped), `${code} → ${swapped}`).toBe(false);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it("rejects wrong lengths, wrong kinds and non-strings", () => {
    const code = sample[2]!;
    expect(isWellFormedCode(code.slice(0, 6))).toBe(false);
    expect(isWellFormedCode(code + "가")).toBe(false);
    expect(isWellFormedCode(replaceAt(code, 2, "가"))).toBe(false);
    expect(isWellFormedCode(replaceAt(code, 0, "1"))).toBe(false);
    expect(isWellFormedCode("ABCDEFG")).toBe(false);
    expect(isWellFormedCode("")).toBe(false);
    expect(isWellFormedCode(undefined as unknown as string)).toBe(false);
  });

  it("accepts a code typed as decomposed jamo (NFD)", () => {
    const code = sample[3]!;
    expect(code.normalize("NFD").length).toBeGreaterThan(CODE_LENGTH);
    expect(isWellFormedCode(code.normalize("NFD"))).toBe(true);
  });

  it("encodes the extremes of the 60-bit domain", () => {
    const max = 2 ** 30 - 1;
    for (const [hi, lo] of [[0, 0], [max, max], [0, max], [max, 0]] as const) {
      expect(isWellFormedCode(encodeCode(hi, lo))).toBe(true);
    }
    expect(encodeCode(0, 0)).not.toBe(encodeCode(0, 1));
  });
});

describe("code generator", () => {
  it("gives distinct codes for 200,000 counters across disjoint campaign ranges", () => {
    const all = new Set<string>();
    for (let campaign = 0; campaign < 20; campaign++) {
      for (const c of generator.codes(campaign * 10_000, 10_000)) all.add(c);
    }
    expect(all.size).toBe(200_000);
  });

  it("is deterministic for one secret and different for another", () => {
    expect(generator.codes(5, 3)).toEqual(new CodeGenerator(Buffer.alloc(32, 1)).codes(5, 3));
    expect(new CodeGenerator(Buffer.alloc(32, 2)).codes(5, 3)).not.toEqual(generator.codes(5, 3));
  });

  it("does not map neighbouring counters to neighbouring codes", () => {
    const codes = generator.codes(0, 1000);
    let sharedPrefix = 0;
    for (let i = 1; i < codes.length; i++) if (codes[i]!.slice(0, 2) === codes[i - 1]!.slice(0, 2)) sharedPrefix++;
    // Two random codes share their first two syllables with probability ~1e-8.
    expect(sharedPrefix).toBe(0);
    const sorted = [...codes].sort();
    expect(sorted).not.toEqual(codes);
  });
});
