import { Redis } from "ioredis";
import { requestPathOptions } from "../../src/redis/client.js";
import { ScriptPipe, scriptPipeTarget } from "../../src/redis/script-pipe.js";

/**
 * The client's CPU per EVALSHA, ioredis (auto-pipelined, the service's settings) against the issue
 * script's own connection (src/redis/script-pipe.ts), with calls arriving as an open loop sends
 * them: `perTick` calls every millisecond. Redis's own work is the same for both (one tiny script);
 * what differs is the client's building, writing and reading, measured as this process's CPU.
 *
 *   npx tsx scripts/bench/issue-client-cost.ts [redis-url] [calls-per-ms ...]
 *
 * Alternates the two clients, three rounds each, and prints the medians.
 */
const url = process.argv[2] ?? "redis://127.0.0.1:6379";
const rates = process.argv.slice(3).map(Number);
const TICKS = 2000;
const LUA = "return {0, ARGV[1], 7}";
const KEY = "issue-client-cost:key";

type Caller = (user: string) => Promise<unknown>;

async function ioredisCaller(): Promise<{ call: Caller; close: () => void }> {
  const redis = new Redis(url, { ...requestPathOptions(2000), enableAutoPipelining: true });
  await redis.connect();
  redis.defineCommand("probe", { numberOfKeys: 1, lua: LUA });
  const probe = (redis as unknown as { probe: (key: string, user: string) => Promise<unknown> }).probe.bind(redis);
  return { call: (user) => probe(KEY, user), close: () => redis.disconnect() };
}

async function pipeCaller(): Promise<{ call: Caller; close: () => void }> {
  const target = scriptPipeTarget(url);
  if (!target) throw new Error(`${url} is not a redis:// URL`);
  const pipe = new ScriptPipe({ ...target, connectionName: "issue-client-cost", commandTimeoutMs: 2000, lua: LUA });
  await pipe.connect();
  return { call: (user) => pipe.run([KEY], [user]), close: () => void pipe.quit() };
}

/** µs of this process's CPU per call, `perTick` calls sent every millisecond. */
async function cpuPerCall(make: () => Promise<{ call: Caller; close: () => void }>, perTick: number): Promise<number> {
  const { call, close } = await make();
  try {
    for (let i = 0; i < 2000; i++) await call(`warm-${i}`);
    const before = process.cpuUsage();
    let answered = 0;
    await new Promise<void>((resolve, reject) => {
      let tick = 0;
      const timer = setInterval(() => {
        for (let k = 0; k < perTick; k++) {
          call(`u-${tick}-${k}`).then(() => {
            if (++answered === TICKS * perTick) resolve();
          }, reject);
        }
        if (++tick === TICKS) clearInterval(timer);
      }, 1);
    });
    const cpu = process.cpuUsage(before);
    return (cpu.user + cpu.system) / (TICKS * perTick);
  } finally {
    close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

for (const perTick of rates.length > 0 ? rates : [2, 20]) {
  const runs = { ioredis: [] as number[], pipe: [] as number[] };
  for (let round = 0; round < 3; round++) {
    runs.ioredis.push(await cpuPerCall(ioredisCaller, perTick));
    runs.pipe.push(await cpuPerCall(pipeCaller, perTick));
  }
  const io = median(runs.ioredis);
  const pipe = median(runs.pipe);
  console.log(
    `${perTick} calls per ms: ioredis ${io.toFixed(1)} µs/call, ScriptPipe ${pipe.toFixed(1)} µs/call (${(pipe / io).toFixed(2)}×; rounds ${runs.ioredis.map((x) => x.toFixed(0)).join("/")} · ${runs.pipe.map((x) => x.toFixed(0)).join("/")})`,
  );
}
process.exit(0);
