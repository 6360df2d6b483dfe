import type { Cluster } from "ioredis";
import type { RowDataPacket } from "mysql2";
import { describe, expect, it } from "vitest";
import { IssuePool } from "../../scripts/loadtest/http/issue-pool.js";
import { issueAsAClient } from "../testing/raw-issue.js";
import type { IssueOutcome } from "../../scripts/loadtest/http/connect-outcome.js";
import { createLoadedCampaign, waitFor, type TestService } from "../testing/harness.js";
import { useServiceOnCluster } from "../testing/redis-cluster.js";
import { homeSubPool, subPoolSize } from "./sub-pools.js";

// Issue 13's proof: one campaign split into 8 sub-pools over a real three-master Redis Cluster,
// sold out by a crowd that mostly lands on three of them, with users asking again.
const SHARDS = 8;
const TOTAL = 100_000;
/** Distinct users; with the retries below they make 150,000 calls, 20,000 more users than codes. */
const USERS = 120_000;
const TWICE = 20_000;
const THRICE = 5_000;
/** Share of the users whose home sub-pool is one of HOT: those sub-pools run dry long before the rest. */
const HOT = new Set([0, 1, 2]);
const HOT_SHARE = 0.6;
const CONNECTIONS = 64;

let s: TestService;
useServiceOnCluster((service) => (s = service));

/** A small seeded generator (mulberry32): the same crowd and the same call order on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** USERS user ids, HOT_SHARE of them at home in a HOT sub-pool (by the service's own routing hash). */
function skewedUsers(): string[] {
  const hot: string[] = [];
  const cold: string[] = [];
  const wantHot = Math.round(USERS * HOT_SHARE);
  for (let i = 0; hot.length < wantHot || cold.length < USERS - wantHot; i++) {
    const u = `shopper-${i}`;
    const bucket = HOT.has(homeSubPool(u, SHARDS)) ? hot : cold;
    if (bucket.length < (bucket === hot ? wantHot : USERS - wantHot)) bucket.push(u);
  }
  return [...hot, ...cold];
}

/**
 * The calls in the order they are sent: every user once, in random order; TWICE users once more
 * at a random later place; THRICE users once more right after their first call (sent while it is
 * still in flight, on another connection) and once more at a random later place.
 */
function callOrder(users: string[], next: () => number): string[] {
  const shuffled = [...users];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  // Each call gets a place in line: the first call of the i-th user is at i.
  const placed: Array<{ at: number; user: string }> = shuffled.map((user, i) => ({ at: i, user }));
  const later = (i: number) => i + 1 + next() * (shuffled.length - i);
  // Spread over the whole run: of every 24 users in line one asks three times, four ask twice.
  const every = USERS / THRICE;
  for (let i = 0; i < shuffled.length; i++) {
    const slot = i % every;
    if (slot === 0) placed.push({ at: i + 0.5, user: shuffled[i]! });
    if (slot <= TWICE / THRICE) placed.push({ at: later(i), user: shuffled[i]! });
  }
  return placed.sort((a, b) => a.at - b.at).map((c) => c.user);
}

/** Sends every call over CONNECTIONS keep-alive connections, each taking the next call when free. */
async function sendAll(url: string, campaignId: bigint, calls: string[]): Promise<IssueOutcome[]> {
  const pool = new IssuePool(url, { connections: CONNECTIONS, timeoutMs: 30_000 });
  const out = new Array<IssueOutcome>(calls.length);
  let next = 0;
  try {
    await pool.warm();
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (next < calls.length) {
          const i = next++;
          out[i] = await issueAsAClient(pool, campaignId, calls[i]!);
        }
      }),
    );
  } finally {
    pool.close();
  }
  return out;
}

describe("a campaign of 8 sub-pools on a three-master Redis Cluster", () => {
  it("issues exactly its 100,000 codes to 150,000 skewed calls with retries, each holder always the same code, every owner in MySQL", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: TOTAL, shards: SHARDS });
    const id = Number(campaignId);
    const cluster = s.deps.bulkRedis as Cluster;
    const subPools = s.deps.keys.subPools(id, SHARDS);

    // The sub-pools' keys live on more than one master: ask each master which meta hashes it holds.
    const masters = cluster.nodes("master");
    const homeOf = await Promise.all(
      subPools.map(async (k) => {
        // A master that does not own the key's slot answers MOVED.
        const here = await Promise.all(masters.map((node) => node.exists(k.meta).catch(() => 0)));
        expect(here.filter((n) => n === 1)).toHaveLength(1);
        return here.indexOf(1);
      }),
    );
    expect(new Set(homeOf).size).toBeGreaterThanOrEqual(2);

    const calls = callOrder(skewedUsers(), random(13));
    expect(calls).toHaveLength(150_000);
    const outcomes = await sendAll(s.url, campaignId, calls);

    // Per user: every answer the same code, or every answer sold out. A holder is never refused,
    // not even by a call in flight beside the one that issued their code.
    const answers = new Map<string, Set<string>>();
    const owners = new Map<string, string>();
    const sequences = new Map<string, number>();
    outcomes.forEach((o, i) => {
      const user = calls[i]!;
      if (o.ok) owners.set(user, o.code), sequences.set(user, o.sequence);
      answers.set(user, (answers.get(user) ?? new Set()).add(o.ok ? o.code : `${o.error}: ${o.message}`));
    });
    const mixed = [...answers].filter(([, a]) => a.size > 1);
    expect(mixed.slice(0, 5).map(([u, a]) => `${u}: ${[...a].join(" / ")}`)).toEqual([]);
    const refusals = new Set([...answers].filter(([u]) => !owners.has(u)).map(([, a]) => [...a][0]));
    expect(refusals).toEqual(new Set([`resource_exhausted: campaign ${campaignId} is sold out`]));

    // Exactly the total, each code once, and every sub-pool emptied: no "sold out" while stock remained.
    expect(owners.size).toBe(TOTAL);
    expect(new Set(owners.values()).size).toBe(TOTAL);
    expect(new Set(sequences.values()).size).toBe(TOTAL);
    const perSubPool = Array<number>(SHARDS).fill(0);
    for (const seq of sequences.values()) perSubPool[(seq - 1) % SHARDS]!++;
    expect(perSubPool).toEqual(Array.from({ length: SHARDS }, (_, j) => subPoolSize(j, SHARDS, TOTAL)));
    // The hot sub-pools ran dry early and their users' walks moved on to the others.
    const walkedOn = [...sequences].filter(([u, seq]) => (seq - 1) % SHARDS !== homeSubPool(u, SHARDS)).length;
    expect(walkedOn).toBeGreaterThan(10_000);

    // MySQL holds every owner, code for code, under the campaign's id.
    const ownerRows = async () =>
      (await s.deps.mysqlPool.query<RowDataPacket[]>("SELECT user_id, code FROM coupon_issues WHERE campaign_id = ?", [id]))[0];
    await waitFor("every owner in MySQL", async () => ((await ownerRows()).length >= TOTAL ? true : undefined), 30_000, 100);
    expect(new Map((await ownerRows()).map((r) => [r.user_id as string, r.code as string]))).toEqual(owners);

    const books = await s.json.verifyCampaign({ campaignId });
    expect({ problems: books.problems, poolBalances: books.poolBalances, ownersUnique: books.ownersUnique, ok: books.ok }).toEqual({
      problems: [],
      poolBalances: true,
      ownersUnique: true,
      ok: true,
    });
  }, 180_000); // 150,000 calls through a service and a three-master cluster on two cores, beside other test files
});
