import type { ControlClient } from "../loadtest/rpc/control-client.js";
import type { Measured, PidGroups } from "./box-load.js";
import { measureTenMillion, type TenMillionFigures } from "./creation-10m.js";
import { timeCreation, type CreationTiming } from "./creation-timing.js";
import { timeLoadDataReference, type LoadDataTiming } from "./load-data-reference.js";
import { measured } from "./measured.js";
import { measureRedisMemory, type RedisMemory } from "./redis-memory.js";

/** Campaign creation (issue 10, points 5 and 6): what docs/benchmarks.md's creation section shows. */
export type CreationFigures = {
  /** 100,000 then 1,000,000 codes through the service, from CreateCampaign until it leaves LOADING. */
  sizes: Array<Measured<CreationTiming>>;
  /** Bare LOAD DATA of 1,000,000 codes, just before and just after the service's 1,000,000. */
  references: Array<Measured<LoadDataTiming>>;
  /** The service's 1,000,000-code rate over the faster reference's: the conservative ratio. */
  ratio: number | null;
  memory: RedisMemory | null;
  memoryError?: string;
  /** Only with `--creation-10m`. */
  tenMillion: TenMillionFigures | null;
};

const REFERENCE_CODES = 1_000_000;

/**
 * Takes the creation figures on the bench's service. Each size is created once (every try adds its
 * codes to the unique index, so a retry would time a bigger table); the reference runs on either
 * side of the 1,000,000-code creation so that a machine that got busier or quieter meanwhile shows
 * as two different references rather than as a ratio that flatters.
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
}): Promise<CreationFigures> {
  const { say, pids } = opts;
  const create = async (size: number) => {
    const timing = await measured(`creating a campaign of ${size} codes`, pids, () => timeCreation(opts.client, size));
    say(timing.value.ms === null ? `${size} codes: ${timing.value.error}` : `${size} codes loaded in ${timing.value.ms} ms (${timing.value.codesPerSecond} codes/s)`);
    return timing;
  };
  const reference = async () => {
    const timing = await measured(`bare LOAD DATA LOCAL INFILE of ${REFERENCE_CODES} codes`, pids, () => timeLoadDataReference(opts.databaseUrl, REFERENCE_CODES));
    say(`bare LOAD DATA of ${REFERENCE_CODES} codes: ${timing.value.ms} ms (${timing.value.codesPerSecond} codes/s)`);
    return timing;
  };
  const small = await create(100_000);
  const before = await reference();
  const million = await create(1_000_000);
  const after = await reference();
  const best = Math.max(before.value.codesPerSecond, after.value.codesPerSecond);
  const ratio = million.value.codesPerSecond === null ? null : million.value.codesPerSecond / best;
  if (ratio !== null) say(`creation: ${(ratio * 100).toFixed(0)} % of the faster bare LOAD DATA`);

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
  return { sizes: [small, million], references: [before, after], ratio, memory, ...(memoryError ? { memoryError } : {}), tenMillion };
}
