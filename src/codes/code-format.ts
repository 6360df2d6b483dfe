/**
 * The shape of a coupon code: 7 characters, `KKNNKKC`.
 *   K  one of the 11,172 precomposed Hangul syllables (U+AC00 가 … U+D7A3 힣)
 *   N  an ASCII digit
 *   C  a Hangul check character over the first six
 *
 * The six body characters are a mixed-radix number (11172·11172·10·10·11172·11172 ≈ 1.56e18
 * values), enough for the 60-bit outputs of the keyed permutation in `permutation.ts`.
 * The check character detects every single-character typo (except 가↔힣 swaps, whose values
 * differ by exactly the modulus) and every swap of two adjacent characters of the same kind.
 */

const HANGUL_FIRST = 0xac00;
export const HANGUL_COUNT = 11172;
/** The largest prime below HANGUL_COUNT: check values live in [0, CHECK_MODULUS). */
const CHECK_MODULUS = 11171;

/** Radix of each body position, most significant first. */
const RADICES = [HANGUL_COUNT, HANGUL_COUNT, 10, 10, HANGUL_COUNT, HANGUL_COUNT] as const;
const BODY_LENGTH = RADICES.length;
export const CODE_LENGTH = BODY_LENGTH + 1;
const TWO_POW_30 = 2 ** 30;

/** Characters of a body position (digits for radix 10, Hangul otherwise). */
function symbol(radix: number, value: number): string {
  return String.fromCharCode(radix === 10 ? 0x30 + value : HANGUL_FIRST + value);
}

/** Value of a character at a position of the given radix, or -1 if it does not belong there. */
function valueOf(radix: number, char: number): number {
  const v = radix === 10 ? char - 0x30 : char - HANGUL_FIRST;
  return v >= 0 && v < radix ? v : -1;
}

function checkValue(values: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum = (sum + (i + 1) * values[i]!) % CHECK_MODULUS;
  return sum;
}

/**
 * Encodes a 60-bit number given as two 30-bit halves (`hi·2^30 + lo`) into a full code with its
 * check character. Plain double arithmetic stays exact: every intermediate is below 2^44.
 */
export function encodeCode(hi: number, lo: number): string {
  const values = new Array<number>(BODY_LENGTH);
  for (let pos = BODY_LENGTH - 1; pos >= 0; pos--) {
    const radix = RADICES[pos]!;
    const carry = hi % radix;
    hi = Math.floor(hi / radix);
    const t = carry * TWO_POW_30 + lo;
    lo = Math.floor(t / radix);
    values[pos] = t % radix;
  }
  let out = "";
  for (let pos = 0; pos < BODY_LENGTH; pos++) out += symbol(RADICES[pos]!, values[pos]!);
  return out + String.fromCharCode(HANGUL_FIRST + checkValue(values));
}

/**
 * True when `code` has the shape of a coupon code and its check character matches: a mistyped
 * code is recognised without any lookup. Decomposed Hangul (NFD input) is normalised first.
 */
export function isWellFormedCode(code: string): boolean {
  if (typeof code !== "string") return false;
  const s = code.length === CODE_LENGTH ? code : code.normalize("NFC");
  if (s.length !== CODE_LENGTH) return false;
  const values = new Array<number>(BODY_LENGTH);
  for (let pos = 0; pos < BODY_LENGTH; pos++) {
    const v = valueOf(RADICES[pos]!, s.charCodeAt(pos));
    if (v < 0) return false;
    values[pos] = v;
  }
  return s.charCodeAt(BODY_LENGTH) - HANGUL_FIRST === checkValue(values);
}
