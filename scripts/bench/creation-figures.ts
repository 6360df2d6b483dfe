import type { ControlClient } from "../loadtest/rpc/control-client.js";
import { meterLoad, type Measured, type PidGroups } from "./box-load.js";
import { measureTenMillion, type TenMillionFigures } from "./creation-10m.js";
import { timeCreation, type CreationTiming } from "./creation-timing.js";
import { timeLoadDataReference, type LoadDataTiming } from "./load-data-reference.js";
import { measured } from "./measured.js";
import { measureRedisMemory, type RedisMemory } from "./redis-memory.js";

/** Campaign creation (issue 10, points 5 and 6): what docs/benchmarks.md's creation section shows. */
export type CreationFigures = {
  /** 100,000 codes through the service, from CreateCampaign until it leaves LOADING (a warm-up). */
  small: Measured<CreationTiming>;
  /** Each round: a bare LOAD DATA of 1,000,000 codes, then the service creating 1,000,000. */
  rounds: Array<{ reference: Measured<LoadDataTiming>; service: Measured<CreationTiming>; ratio: number | null }>;
  /** The median of the rounds' ratios (service codes/s over its round's reference): same-run, side by side. */
  ratio: number | null;
  memory: RedisMemory | null;
  memoryError?: string;
  /** Only with `--creation-10m`. */
  tenMillion: TenMillionFigures | null;
};

const REFERENCE_CODES = 1_000_000;
/** Rounds of (reference, service): three, as for the IssueCoupon figures, so one busy moment cannot make the ratio. */
const ROUNDS = 3;

const median = (xs: readonly number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length === 0 ? null : sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
};

/**
 * Takes the creation figures on the bench's service, in rounds: each waits for a quiet machine,
 * times the bare reference, then at once the service's 1,000,000 codes, so both sides of a round's
 * ratio see the same machine (other people's work here comes and goes within a minute). Every
 * service round adds its codes to the unique index; each reference table first gets as many rows
 * as the service's holds then (./load-data-reference.ts), so both sides insert into the same size.
 */
export async function measureCreationFigures(opts: {
  root: string;
  client: ControlClient;
  service: { url: string; pid: number };
  pids: () => PidGroups;
  databaseUrl: string;
  redisUrl: string;
  prefix: string;
  say: (line: string) => void;
  tenMillion: boolean;
  /** Sub-pools of the campaigns whose creation is timed (`--shards K`); absent: one pool. */
  shards?: number;
}): Promise<CreationFigures> {
  const { say, pids } = opts;
  const create = async (size: number) => {
    const timing = await measured(`creating a campaign of ${size} codes`, pids, () => timeCreation(opts.client, size, undefined, opts.shards));
    say(timing.value.ms === null ? `${size} codes: ${timing.value.error}` : `${size} codes loaded in ${timing.value.ms} ms (${timing.value.codesPerSecond} codes/s)`);
    return timing;
  };
  const reference = () => timeLoadDataReference(opts.databaseUrl, REFERENCE_CODES);
  const small = await create(100_000);
  const rounds: CreationFigures["rounds"] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const ref = await measured(`round ${round}: bare LOAD DATA LOCAL INFILE of ${REFERENCE_CODES} codes`, pids, reference);
    say(`bare LOAD DATA of ${REFERENCE_CODES} codes: ${ref.value.ms} ms (${ref.value.codesPerSecond} codes/s)`);
    // Straight after its reference, without waiting for quiet again.
    const meter = meterLoad(pids);
    const timing = await timeCreation(opts.client, 1_000_000, undefined, opts.shards);
    const load = meter();
    const service: Measured<CreationTiming> = { value: timing, load, loadPhase: load, quietWaitMs: 0, busyBeforePct: null };
    const ratio = timing.codesPerSecond === null ? null : timing.codesPerSecond / ref.value.codesPerSecond;
    say(`round ${round}: 1000000 codes created in ${timing.ms ?? "–"} ms (${timing.codesPerSecond ?? "–"} codes/s): ${ratio === null ? "–" : `${(ratio * 100).toFixed(0)} %`} of the bare LOAD DATA`);
    rounds.push({ reference: ref, service, ratio });
  }
  const ratios = rounds.flatMap((r) => (r.ratio === null ? [] : [r.ratio]));
  const ratio = ratios.length === rounds.length ? median(ratios) : null;
  if (ratio !== null) say(`creation: median ${(ratio * 100).toFixed(0)} % of the bare LOAD DATA`);
  const million = rounds[0]!.service;

  let memory: RedisMemory | null = null;
  let memoryError: string | undefined;
  if (million.value.campaignId && million.value.ms !== null) {
    try {
      memory = await measureRedisMemory({ root: opts.root, redisUrl: opts.redisUrl, databaseUrl: opts.databaseUrl, prefix: opts.prefix, poolCampaignId: million.value.campaignId, say });
    } catch (err) {
      memoryError = (err as Error).message;
      say(`Redis memory not measured: ${memoryError}`);
    }
  } else memoryError = "the 1,000,000-code pool did not load";

  const tenMillion = opts.tenMillion ? await measureTenMillion(opts.service.url, opts.service.pid, say) : null;
  return { small, rounds, ratio, memory, ...(memoryError ? { memoryError } : {}), tenMillion };
}
