import { MAX_SHARDS } from "../../src/campaigns/sub-pools.js";

/**
 * The load test's settings: flags as typed, checked and completed with the defaults of the chosen
 * scenario. Every problem is reported at once, as a usage error (exit status 2).
 */
export const SCENARIOS = ["seed", "burst", "ramp", "multi", "boundary", "lifecycle"] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export type LoadtestOptions = {
  url: string;
  scenario: ScenarioName;
  /** Coupons per campaign (boundary: the small pool of its near-limit part). */
  coupons: number;
  /** Calls in total (multi: over all campaigns; boundary: per part). */
  calls: number;
  /** Connections, i.e. the most calls in flight. */
  concurrency: number;
  /** seed: the spread of the calls; ramp: the ramp; boundary: the window around the start instant. */
  durationS: number;
  /** ramp: from → to calls per second; seed: the constant rate (then duration = calls / rate). */
  rate: { fromRps: number; toRps: number } | undefined;
  campaigns: number;
  /** Sub-pools of every campaign the run creates (CreateCampaign `shards`); 1: one pool, as before. */
  shards: number;
  /** Seconds from creating the campaigns to their start instant. */
  leadS: number;
  /** How long to wait for the persister to write every owner to MySQL. */
  persistTimeoutS: number;
  /** A call unanswered this long counts as deadline_exceeded. */
  callTimeoutMs: number;
  json: string | undefined;
  quiet: boolean;
  /** The service's ADMIN_API_KEY, for the admin methods the run calls (create, list owners). */
  apiKey: string | undefined;
};

/** Flags as they come from the command line: strings, or undefined when not given. */
export type RawFlags = Partial<
  Record<"url" | "scenario" | "coupons" | "calls" | "concurrency" | "duration" | "rate" | "campaigns" | "shards" | "lead" | "persistTimeout" | "json" | "apiKey", string>
> & {
  quiet?: boolean;
};

type Tunable = "coupons" | "calls" | "concurrency" | "duration" | "rate" | "campaigns" | "lead";

type ScenarioDefaults = Pick<LoadtestOptions, "coupons" | "calls" | "concurrency" | "durationS" | "rate" | "campaigns" | "leadS"> & {
  /** The flags that mean something for this scenario; any other one is a usage error. */
  accepts: readonly Tunable[];
};

export const SCENARIO_DEFAULTS: Record<ScenarioName, ScenarioDefaults> = {
  // The original Go load test: 20,000 coupons opening 3 s after creation, 10,000 calls over 10 s.
  seed: { coupons: 20_000, calls: 10_000, concurrency: 256, durationS: 10, rate: undefined, campaigns: 1, leadS: 3, accepts: ["coupons", "calls", "concurrency", "duration", "rate", "lead"] },
  burst: { coupons: 10_000, calls: 15_000, concurrency: 128, durationS: 0, rate: undefined, campaigns: 1, leadS: 2, accepts: ["coupons", "calls", "concurrency", "lead"] },
  // Sells out near the end of the ramp (17,500 calls for 15,000 coupons): the tail is under load.
  ramp: { coupons: 15_000, calls: 0, concurrency: 256, durationS: 10, rate: { fromRps: 500, toRps: 3000 }, campaigns: 1, leadS: 2, accepts: ["coupons", "concurrency", "duration", "rate", "lead"] },
  multi: { coupons: 5_000, calls: 24_000, concurrency: 128, durationS: 0, rate: undefined, campaigns: 4, leadS: 2, accepts: ["coupons", "calls", "concurrency", "campaigns", "lead"] },
  boundary: { coupons: 5, calls: 1_000, concurrency: 64, durationS: 2, rate: undefined, campaigns: 2, leadS: 3, accepts: ["coupons", "calls", "concurrency", "duration", "lead"] },
  // A pause held mid-burst (15,000 callers, 10,000 coupons), then 2,000 calls over 2 s around an end instant.
  lifecycle: { coupons: 10_000, calls: 15_000, concurrency: 128, durationS: 2, rate: undefined, campaigns: 2, leadS: 2, accepts: ["coupons", "calls", "concurrency", "duration", "lead"] },
};

const FLAG_OF: Record<Tunable, keyof RawFlags> = {
  coupons: "coupons",
  calls: "calls",
  concurrency: "concurrency",
  duration: "duration",
  rate: "rate",
  campaigns: "campaigns",
  lead: "lead",
};

export class UsageError extends Error {
  override readonly name = "UsageError";
}

function numberFlag(problems: string[], flag: string, raw: string | undefined, min: number, max: number, integer: boolean): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    problems.push(`--${flag} must be ${integer ? "an integer" : "a number"} from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return undefined;
  }
  return n;
}

function rateFlag(problems: string[], raw: string | undefined, scenario: ScenarioName): LoadtestOptions["rate"] {
  if (raw === undefined) return undefined;
  const parts = raw.split(":");
  const [from, to] = parts.map(Number);
  const ok = (v: number | undefined) => v !== undefined && Number.isFinite(v) && v > 0 && v <= 1_000_000;
  if (scenario === "ramp" && parts.length === 2 && ok(from) && ok(to)) return { fromRps: from!, toRps: to! };
  if (scenario !== "ramp" && parts.length === 1 && ok(from)) return { fromRps: from!, toRps: from! };
  problems.push(
    scenario === "ramp"
      ? `--rate for ramp is FROM:TO calls per second (e.g. 500:3000), got ${JSON.stringify(raw)}`
      : `--rate is calls per second (e.g. 1000), got ${JSON.stringify(raw)}`,
  );
  return undefined;
}

function checkUrl(problems: string[], raw: string): void {
  try {
    if (new URL(raw).protocol !== "http:") problems.push(`--url must be an http:// URL, got ${raw}`);
  } catch {
    problems.push(`--url is not a URL: ${JSON.stringify(raw)}`);
  }
}

/** Resolves the flags into complete options, or throws a UsageError listing every problem. */
export function resolveOptions(flags: RawFlags): LoadtestOptions {
  const problems: string[] = [];
  const scenario = (flags.scenario ?? "seed") as ScenarioName;
  if (!SCENARIOS.includes(scenario)) throw new UsageError(`--scenario must be one of ${SCENARIOS.join(", ")}, got ${JSON.stringify(flags.scenario)}`);
  const d = SCENARIO_DEFAULTS[scenario];
  for (const [tunable, flag] of Object.entries(FLAG_OF) as Array<[Tunable, keyof RawFlags]>) {
    if (flags[flag] !== undefined && !d.accepts.includes(tunable)) {
      problems.push(`--${tunable} does not apply to the ${scenario} scenario (it takes ${d.accepts.map((a) => `--${a}`).join(", ")})`);
    }
  }
  const url = flags.url ?? "http://127.0.0.1:8080";
  checkUrl(problems, url);
  const rate = rateFlag(problems, flags.rate, scenario) ?? d.rate;
  let durationS = numberFlag(problems, "duration", flags.duration, 0.1, 3600, false) ?? d.durationS;
  let calls = numberFlag(problems, "calls", flags.calls, 1, 10_000_000, true) ?? d.calls;
  if (scenario === "seed" && flags.rate !== undefined && rate) {
    if (flags.duration !== undefined) problems.push("seed takes --duration or --rate, not both (duration = calls / rate)");
    durationS = calls / rate.fromRps;
  }
  if (scenario === "ramp" && rate) calls = Math.round(((rate.fromRps + rate.toRps) / 2) * durationS);
  const options: LoadtestOptions = {
    url,
    scenario,
    coupons: numberFlag(problems, "coupons", flags.coupons, 1, 10_000_000, true) ?? d.coupons,
    calls,
    concurrency: numberFlag(problems, "concurrency", flags.concurrency, 1, 4096, true) ?? d.concurrency,
    durationS,
    rate,
    campaigns: numberFlag(problems, "campaigns", flags.campaigns, 1, 100, true) ?? d.campaigns,
    shards: numberFlag(problems, "shards", flags.shards, 1, MAX_SHARDS, true) ?? 1,
    leadS: numberFlag(problems, "lead", flags.lead, 0.5, 600, false) ?? d.leadS,
    persistTimeoutS: numberFlag(problems, "persist-timeout", flags.persistTimeout, 1, 3600, false) ?? 120,
    callTimeoutMs: 30_000,
    json: flags.json,
    quiet: flags.quiet ?? false,
    apiKey: flags.apiKey || undefined,
  };
  // The service refuses a campaign with fewer codes than sub-pools; say so before creating anything.
  if (options.shards > options.coupons) problems.push(`--shards (${options.shards}) must not exceed --coupons (${options.coupons}): every sub-pool needs a code`);
  if (scenario === "ramp" && options.calls < 1) problems.push("ramp: --rate and --duration give no calls at all");
  if (scenario === "boundary" && options.leadS <= options.durationS / 2) {
    problems.push(`boundary: --lead (${options.leadS} s) must exceed half of --duration (${options.durationS} s): calls start before the start instant`);
  }
  if (problems.length > 0) throw new UsageError(problems.join("\n"));
  return options;
}
