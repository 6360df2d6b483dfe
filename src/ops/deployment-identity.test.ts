import type { RowDataPacket } from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../scripts/campaign/run-cli.js";
import { StartupError } from "../deps.js";
import { dropNamespace, startTestService, stopTestService, testConfig, testNamespace, type TestService } from "../testing/harness.js";

// Two deployments (two databases) on one Redis namespace: the second refuses to start, naming
// REDIS_KEY_PREFIX, until an admin takes the namespace over on purpose with the CLI.
const first = testNamespace();
const second = { database: testNamespace().database, prefix: first.prefix };
let a: TestService;
beforeAll(async () => {
  a = await startTestService({}, undefined, first);
});
afterAll(async () => {
  if (a) await stopTestService(a);
  await dropNamespace(testConfig({}, second));
});

async function deploymentIdOf(s: TestService): Promise<string> {
  const [rows] = await s.deps.mysqlPool.query<RowDataPacket[]>("SELECT deployment_id FROM code_allocator WHERE id = 1");
  return rows[0]!.deployment_id as string;
}

async function readyz(s: TestService) {
  const res = await fetch(`${s.url}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; reason?: string; deployment?: string } };
}

function takeOver(from: string, ns = second) {
  const config = testConfig({}, ns);
  return runCli("http://127.0.0.1:1", ["take-over-namespace", "--from", from], {
    DATABASE_URL: config.DATABASE_URL,
    REDIS_URL: config.REDIS_URL,
    REDIS_KEY_PREFIX: config.REDIS_KEY_PREFIX,
  });
}

describe("one deployment per Redis namespace", () => {
  it("keeps one random id per database, recorded in Redis under the prefix and reported by /readyz", async () => {
    const id = await deploymentIdOf(a);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(await a.deps.bulkRedis.get(`${first.prefix}deployment`)).toBe(id);
    expect(await readyz(a)).toMatchObject({ status: 200, body: { status: "ready", deployment: id } });
    // Another instance of the same deployment (same database) shares the namespace.
    const twin = await startTestService({ PERSISTER: "off" }, undefined, first);
    try {
      expect(await deploymentIdOf(twin)).toBe(id);
    } finally {
      await twin.stop();
    }
  });

  it("refuses to start another deployment on the same namespace, naming REDIS_KEY_PREFIX and both ids", async () => {
    const ours = await deploymentIdOf(a);
    const err = await startTestService({}, undefined, second).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StartupError);
    const message = (err as Error).message;
    expect(message).toMatch(new RegExp(`^Redis namespace REDIS_KEY_PREFIX="${first.prefix}" belongs to another deployment \\(${ours}\\); this database is deployment [0-9a-f]{32}\\.`));
    expect(message).toContain(`npm run campaign -- take-over-namespace --from ${ours}`);
    // Nothing of the refused deployment reached the namespace.
    expect(await a.deps.bulkRedis.get(`${first.prefix}deployment`)).toBe(ours);
  });

  it("is taken over only by the explicit CLI command naming the current owner; the old owner's /readyz then reports it", async () => {
    const old = await deploymentIdOf(a);
    const wrong = await takeOver("0123456789abcdef0123456789abcdef");
    expect(wrong.code).toBe(1);
    expect(wrong.stderr.trim()).toBe(
      `Refused: the namespace names deployment ${old}, not 0123456789abcdef0123456789abcdef: nothing was changed.`,
    );

    const done = await takeOver(old);
    expect(done.stderr).toBe("");
    expect(done.code).toBe(0);
    const b = await startTestService({}, undefined, second);
    try {
      const newOwner = await deploymentIdOf(b);
      expect(done.stdout).toContain(`now belongs to deployment ${newOwner}, taken over from ${old}`);
      expect(await a.deps.bulkRedis.get(`${first.prefix}deployment`)).toBe(newOwner);
      const stale = await readyz(a);
      expect(stale.status).toBe(503);
      expect(stale.body.reason).toContain(`Redis namespace REDIS_KEY_PREFIX="${first.prefix}" belongs to another deployment (${newOwner})`);
      expect((await readyz(b)).body).toMatchObject({ status: "ready", deployment: newOwner });
    } finally {
      await b.stop();
    }
  });
});
