import { randomInt } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLoadedCampaign, startTestService, stopTestService, type TestService } from "../testing/harness.js";
import { encodeCode, HANGUL_COUNT, isWellFormedCode } from "./code-format.js";

/**
 * Guessing: codes of a real service show no exploitable order. Two campaigns are created on a
 * real service (its secret is fresh for every run, drawn by the service itself), their codes are
 * read in issue order, and a battery of tests checks them against what independent uniform
 * draws from the code space would give.
 *
 * Flakiness is budgeted, not hoped away: every check rejects only when the probability of what it
 * saw, were the codes truly random, is below ALPHA; at most CHECKS_BUDGET checks run (the last
 * test counts them), so a correct service fails this file with probability below 1e-6 (Bonferroni).
 * Tail probabilities come from exact formulas (chi-square, via the incomplete gamma function) or
 * from Chernoff bounds, which overstate them, so the real false-alarm rate is lower still. The
 * last describe block shows that the same checks do reject weak constructions.
 */
const FAMILY_FALSE_ALARM = 1e-6;
const CHECKS_BUDGET = 64;
const ALPHA = FAMILY_FALSE_ALARM / CHECKS_BUDGET;
const SAMPLE = 20_000; // codes per campaign
const RANDOM_GUESSES = 100_000;

// ---------------------------------------------------------------- the code space

/** Radix of each body position, most significant first (see code-format.ts). */
const RADICES = [HANGUL_COUNT, HANGUL_COUNT, 10, 10, HANGUL_COUNT, HANGUL_COUNT] as const;
const CHECK_MODULUS = 11171;
/** Codes encode the outputs of a permutation of [0, 2^60). */
const SPACE = 2n ** 60n;
const SPACE_F = 2 ** 60;
/** Weight of each body position: the product of the radices after it. */
const WEIGHTS = RADICES.map((_, p) => RADICES.slice(p + 1).reduce((w, r) => w * BigInt(r), 1n));

function digitOf(ch: number, radix: number): number {
  return radix === 10 ? ch - 0x30 : ch - 0xac00;
}

/** The six body digits and the check digit of a code. */
function digits(code: string): number[] {
  const out = RADICES.map((r, p) => digitOf(code.charCodeAt(p), r));
  out.push(code.charCodeAt(6) - 0xac00);
  return out;
}

/** The 60-bit number a code encodes. */
function valueOf(code: string): bigint {
  return digits(code)
    .slice(0, 6)
    .reduce((v, d, p) => v + BigInt(d) * WEIGHTS[p]!, 0n);
}

/**
 * P(digit at position p = v) for a value drawn uniformly from [0, 2^60), exactly. The top
 * position is not uniform (2^60 covers only ~8,268 of its 11,172 syllables); the others are,
 * to within 1e-13. The check digit is taken as uniform over its 11,171 values.
 */
function digitDistribution(p: number): Float64Array {
  if (p === 6) return new Float64Array(CHECK_MODULUS + 1).fill(1 / CHECK_MODULUS, 0, CHECK_MODULUS);
  const radix = RADICES[p]!;
  const w = WEIGHTS[p]!;
  const block = w * BigInt(radix);
  const full = SPACE / block;
  const rest = SPACE % block;
  const out = new Float64Array(radix);
  for (let v = 0; v < radix; v++) {
    let partial = rest - BigInt(v) * w;
    if (partial < 0n) partial = 0n;
    if (partial > w) partial = w;
    out[v] = Number(full * w + partial) / SPACE_F;
  }
  return out;
}
const DISTRIBUTIONS = [0, 1, 2, 3, 4, 5, 6].map(digitDistribution);

// ---------------------------------------------------------------- tail probabilities

function logGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9), accurate to ~1e-15 for x > 0.
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  x -= 1;
  let a = c[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** The regularized upper incomplete gamma function Q(a, x) (Numerical Recipes, gser/gcf). */
function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const lead = Math.exp(-x + a * Math.log(x) - logGamma(a));
  if (x < a + 1) {
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 10_000 && Math.abs(term) > Math.abs(sum) * 1e-15; n++) {
      term *= x / (a + n);
      sum += term;
    }
    return 1 - sum * lead;
  }
  let b = x + 1 - a;
  let c = 1 / 1e-300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return lead * h;
}

/** P(chi-square with `df` degrees of freedom ≥ stat). */
const chiSquareTail = (stat: number, df: number) => gammaQ(df / 2, stat / 2);
/** P(|N(0,1)| ≥ |z|). */
const normalTwoSidedTail = (z: number) => gammaQ(0.5, (z * z) / 2);

/**
 * An upper bound on the probability that Binomial(n, p) lands at least as far from n·p as k does
 * (on k's side): the Chernoff–Hoeffding bound exp(−n·KL(k/n ‖ p)).
 */
function binomialTailBound(k: number, n: number, p: number): number {
  const x = k / n;
  if (x === p) return 1;
  const term = (a: number, b: number) => (a === 0 ? 0 : a * Math.log(a / b));
  return Math.exp(-n * (term(x, p) + term(1 - x, 1 - p)));
}

/** Chi-square p-value of `observed` bin counts against bin probabilities. */
function chiSquare(observed: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < observed.length; i++) n += observed[i]!;
  let stat = 0;
  for (let i = 0; i < observed.length; i++) {
    const e = n * probabilities[i]!;
    stat += ((observed[i]! - e) * (observed[i]! - e)) / e;
  }
  return chiSquareTail(stat, observed.length - 1);
}

const BINS = 64;

/** Chi-square p-value of values in [0, 2^60) against the uniform distribution, in 64 equal bins. */
function uniformity(values: readonly bigint[]): number {
  const counts = new Float64Array(BINS);
  for (const v of values) counts[Number((v * BigInt(BINS)) / SPACE)]!++;
  return chiSquare(counts, new Float64Array(BINS).fill(1 / BINS));
}

/** Chi-square p-value of the digits at position p against their distribution, in ≤ 64 bins. */
function positionUniformity(codes: readonly string[], p: number): number {
  const dist = DISTRIBUTIONS[p]!;
  const bins = Math.min(BINS, dist.length);
  const bin = (v: number) => Math.floor((v * bins) / dist.length);
  const expected = new Float64Array(bins);
  dist.forEach((q, v) => (expected[bin(v)]! += q));
  const observed = new Float64Array(bins);
  for (const c of codes) observed[bin(digits(c)[p]!)]!++;
  // Drop bins nothing can land in (the top position's unreachable syllables).
  const keep = [...expected.keys()].filter((i) => expected[i]! > 0);
  return chiSquare(keep.map((i) => observed[i]!), keep.map((i) => expected[i]!));
}

/** Two-sided Chernoff bound on how often consecutive codes agree at position p. */
function consecutiveAgreement(codes: readonly string[], p: number): number {
  const q = DISTRIBUTIONS[p]!.reduce((s, x) => s + x * x, 0); // P(two random digits agree)
  let agree = 0;
  for (let i = 1; i < codes.length; i++) if (codes[i]!.charCodeAt(p) === codes[i - 1]!.charCodeAt(p)) agree++;
  return binomialTailBound(agree, codes.length - 1, q);
}

/** Two-sided Chernoff bound on how often consecutive codes differ in every body position. */
function consecutiveAllDifferent(codes: readonly string[]): number {
  const pAll = [0, 1, 2, 3, 4, 5].reduce((s, p) => s * (1 - DISTRIBUTIONS[p]!.reduce((t, x) => t + x * x, 0)), 1);
  let all = 0;
  for (let i = 1; i < codes.length; i++) {
    let differs = true;
    for (let p = 0; p < 6 && differs; p++) differs = codes[i]!.charCodeAt(p) !== codes[i - 1]!.charCodeAt(p);
    if (differs) all++;
  }
  return binomialTailBound(all, codes.length - 1, pAll);
}

/** Spearman's rank correlation of the issue order with the code's value, as a two-sided p-value. */
function orderCorrelation(values: readonly bigint[]): number {
  const n = values.length;
  const ranks = new Float64Array(n);
  [...values.keys()].sort((a, b) => (values[a]! < values[b]! ? -1 : values[a]! > values[b]! ? 1 : 0)).forEach((i, r) => (ranks[i] = r));
  const mean = (n - 1) / 2;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (i - mean) * (ranks[i]! - mean);
    den += (i - mean) * (i - mean);
  }
  return normalTwoSidedTail((num / den) * Math.sqrt(n - 1));
}

/** Lag-1 serial correlation of the values (as fractions of the space), as a two-sided p-value. */
function serialCorrelation(values: readonly bigint[]): number {
  const x = values.map((v) => Number(v) / SPACE_F);
  const n = x.length;
  const mean = x.reduce((s, v) => s + v, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    den += (x[i]! - mean) ** 2;
    if (i > 0) num += (x[i]! - mean) * (x[i - 1]! - mean);
  }
  return normalTwoSidedTail((num / den) * Math.sqrt(n));
}

const differencesMod = (a: readonly bigint[], b: readonly bigint[]) => a.map((v, i) => (((b[i]! - v) % SPACE) + SPACE) % SPACE);

// ---------------------------------------------------------------- the real service

let s: TestService;
let codesA: string[];
let codesB: string[];
let checks = 0;

/** One statistical check: passes when the tail probability of what was seen is at least ALPHA. */
let smallest = { what: "", p: 1 };
function expectChance(what: string, p: number) {
  checks++;
  if (p < smallest.p) smallest = { what, p };
  expect(p, `${what}: probability ${p.toExponential(2)} under chance`).toBeGreaterThanOrEqual(ALPHA);
}

async function codesInIssueOrder(campaignId: bigint): Promise<string[]> {
  const [rows] = await s.deps.db.$client.query("SELECT code FROM coupons WHERE campaign_id = ? ORDER BY seq", [Number(campaignId)]);
  return (rows as Array<{ code: string }>).map((r) => r.code);
}

beforeAll(async () => {
  s = await startTestService();
  const a = await createLoadedCampaign(s.json, { total: SAMPLE, startInMs: -1000, name: "guess A" });
  const b = await createLoadedCampaign(s.json, { total: SAMPLE, startInMs: -1000, name: "guess B" });
  [codesA, codesB] = await Promise.all([codesInIssueOrder(a.campaignId), codesInIssueOrder(b.campaignId)]);
  // What callers receive is this order: the first issues of A are the first codes read.
  for (let i = 0; i < 50; i++) {
    const issued = await s.json.issueCoupon({ campaignId: a.campaignId, userId: `guesser-${i}` });
    expect(issued.couponCode).toBe(codesA[i]);
  }
}, 120_000);
afterAll(async () => {
  if (s) await stopTestService(s);
});

describe("codes of one campaign, in issue order", () => {
  it("are all well-formed and distinct", () => {
    for (const codes of [codesA, codesB]) {
      expect(codes).toHaveLength(SAMPLE);
      expect(codes.every(isWellFormedCode)).toBe(true);
      expect(new Set(codes).size).toBe(SAMPLE);
    }
  });

  it("change in every position from one code to the next as often as chance predicts", () => {
    for (const [name, codes] of [["A", codesA], ["B", codesB]] as const) {
      for (let p = 0; p < 6; p++) expectChance(`campaign ${name}, neighbours agreeing at position ${p}`, consecutiveAgreement(codes, p));
      expectChance(`campaign ${name}, neighbours differing everywhere`, consecutiveAllDifferent(codes));
    }
  });

  it("put neighbours no closer in value than random draws would be", () => {
    // P(two uniform draws within 2^60/10^13 of each other) = 2e-13; over 40,000 pairs: 8e-9.
    const near = SPACE / 10n ** 13n;
    for (const [name, codes] of [["A", codesA], ["B", codesB]] as const) {
      const v = codes.map(valueOf);
      let close = 0;
      for (let i = 1; i < v.length; i++) if ((v[i]! > v[i - 1]! ? v[i]! - v[i - 1]! : v[i - 1]! - v[i]!) < near) close++;
      checks++;
      expect(close, `campaign ${name}: neighbours within 2^60/1e13`).toBe(0);
      // The step from one code to the next is as likely to be any amount as any other.
      expectChance(`campaign ${name}, steps between neighbours`, uniformity(differencesMod(v.slice(0, -1), v.slice(1))));
    }
  });

  it("use every character of every position as often as chance predicts (chi-square)", () => {
    for (const [name, codes] of [["A", codesA], ["B", codesB]] as const) {
      for (let p = 0; p < 7; p++) expectChance(`campaign ${name}, characters at position ${p}`, positionUniformity(codes, p));
    }
  });

  it("show no correlation between a code's place in line and its value", () => {
    for (const [name, codes] of [["A", codesA], ["B", codesB]] as const) {
      const v = codes.map(valueOf);
      expectChance(`campaign ${name}, rank correlation of sequence and value`, orderCorrelation(v));
      expectChance(`campaign ${name}, serial correlation of values`, serialCorrelation(v));
    }
  });
});

describe("codes of two campaigns", () => {
  it("are disjoint", () => {
    const a = new Set(codesA);
    expect(codesB.filter((c) => a.has(c))).toEqual([]);
  });

  it("do not let one campaign's codes predict the other's prefixes", () => {
    // Under chance, a code of B shares its first two syllables with some code of A with
    // probability p = the chance mass of A's distinct prefixes.
    const prefixes = new Set(codesA.map((c) => c.slice(0, 2)));
    const d0 = DISTRIBUTIONS[0]!;
    const d1 = DISTRIBUTIONS[1]!;
    let p = 0;
    for (const pre of prefixes) p += d0[pre.charCodeAt(0) - 0xac00]! * d1[pre.charCodeAt(1) - 0xac00]!;
    const shared = codesB.filter((c) => prefixes.has(c.slice(0, 2))).length;
    expectChance(`B codes sharing a two-syllable prefix with A (${shared}, chance ${(p * SAMPLE).toFixed(1)})`, binomialTailBound(shared, SAMPLE, p));
  });

  it("put no code of one campaign nearer the other's than random draws would be", () => {
    const a = codesA.map(valueOf).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    // Radius such that a random point has ~20/SAMPLE chance of an A code within it.
    const radius = SPACE / BigInt(2 * SAMPLE) / BigInt(SAMPLE / 20);
    const pNear = 1 - (1 - (2 * Number(radius)) / SPACE_F) ** SAMPLE;
    let near = 0;
    for (const v of codesB.map(valueOf)) {
      let lo = 0;
      let hi = a.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (a[mid]! < v) lo = mid + 1;
        else hi = mid;
      }
      const gaps = [a[lo], a[lo - 1]].filter((x): x is bigint => x !== undefined).map((x) => (x > v ? x - v : v - x));
      if (gaps.some((g) => g <= radius)) near++;
    }
    expectChance(`B codes with an A code within the radius (${near}, chance ${(pNear * SAMPLE).toFixed(1)})`, binomialTailBound(near, SAMPLE, pNear));
  });

  it("differ, code for code, by amounts spread like random draws", () => {
    const offsets = differencesMod(codesA.map(valueOf), codesB.map(valueOf));
    expectChance("offsets between the k-th codes of A and B", uniformity(offsets));
  });
});

describe("a guesser", () => {
  it(`finds no valid code among ${RANDOM_GUESSES.toLocaleString("en")} random well-formed codes`, () => {
    const valid = new Set([...codesA, ...codesB]);
    let hits = 0;
    let wellFormed = 0;
    for (let i = 0; i < RANDOM_GUESSES; i++) {
      // Drawn from the permutation's range: a guesser who knows the construction does no worse.
      const guess = encodeCode(randomInt(2 ** 30), randomInt(2 ** 30));
      if (isWellFormedCode(guess)) wellFormed++;
      if (valid.has(guess)) hits++;
    }
    expect(wellFormed).toBe(RANDOM_GUESSES);
    const perGuess = valid.size / SPACE_F;
    console.log(
      `guessing: ${RANDOM_GUESSES} random well-formed codes against ${valid.size} valid ones: ${hits} hits ` +
        `(chance per guess ${perGuess.toExponential(2)}, of any hit ${(perGuess * RANDOM_GUESSES).toExponential(2)})`,
    );
    checks++;
    expect(hits).toBe(0);
  });
});

describe("the checks above", () => {
  it(`stay within their budget of ${CHECKS_BUDGET}, so a correct service fails them with probability below ${FAMILY_FALSE_ALARM}`, () => {
    console.log(
      `guessing: ${checks} statistical checks at ALPHA ${ALPHA.toExponential(2)} each; ` +
        `the smallest chance seen: ${smallest.p.toExponential(2)} (${smallest.what})`,
    );
    expect(checks).toBeGreaterThan(0);
    expect(checks).toBeLessThanOrEqual(CHECKS_BUDGET);
  });

  it("reject codes that follow their counter (sequential and multiplicative constructions)", () => {
    const sequential = Array.from({ length: SAMPLE }, (_, i) => encodeCode(0, 1_000_000 + i));
    const K = 0x9e3779b97f4a7c1n; // an odd multiplier: codes look scattered, steps are constant
    const multiplicative = Array.from({ length: SAMPLE }, (_, i) => {
      const v = (BigInt(i + 1) * K) % SPACE;
      return encodeCode(Number(v >> 30n), Number(v & 0x3fffffffn));
    });
    expect(consecutiveAgreement(sequential, 0)).toBeLessThan(ALPHA);
    expect(orderCorrelation(sequential.map(valueOf))).toBeLessThan(ALPHA);
    const m = multiplicative.map(valueOf);
    expect(uniformity(differencesMod(m.slice(0, -1), m.slice(1)))).toBeLessThan(ALPHA);
    // Two "campaigns" of that construction on adjacent counter ranges: B is A shifted.
    const next = Array.from({ length: SAMPLE }, (_, i) => (BigInt(SAMPLE + i + 1) * K) % SPACE);
    expect(uniformity(differencesMod(m, next))).toBeLessThan(ALPHA);
  });
});
