import { spawn, type ChildProcess } from "node:child_process";
import mysql from "mysql2/promise";
import { waitUntilLoaded } from "../loadtest/campaigns.js";
import { ControlClient } from "../loadtest/rpc/control-client.js";
import { freePort, startNodeChild, type Child } from "./child-process.js";
import { dropDatabase } from "./mysql-probe.js";
import { deleteKeysWithPrefix } from "./redis-cleanup.js";

/**
 * One production build of the service (`node dist/src/main.js`, as `npm start` runs it) in a
 * MySQL database and Redis key prefix of its own, with the admin methods open so the bench can
 * create its campaigns, and a direct MySQL connection to count what the persister wrote.
 * It inherits the bench's environment (WORKERS=1 npm run bench measures one process); `env`
 * overrides it (PERSISTER=off, REDIS_URL of a private Redis).
 */
export type ServiceSpec = {
  label: string;
  root: string;
  serverUri: string;
  database: string;
  redisUrl: string;
  prefix: string;
  env?: Record<string, string>;
  /** Sub-pools of every campaign it creates (`npm run bench -- --shards K`); absent: one pool. */
  shards?: number;
};

export class BenchService {
  readonly client: ControlClient;

  private constructor(
    readonly spec: ServiceSpec,
    readonly child: Child,
    private readonly db: mysql.Connection,
  ) {
    this.client = new ControlClient(child.url);
  }

  static async start(spec: ServiceSpec): Promise<BenchService> {
    await dropDatabase(spec.serverUri, spec.database);
    const port = await freePort();
    const env = {
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: `${spec.serverUri}/${spec.database}`,
      REDIS_URL: spec.redisUrl,
      REDIS_KEY_PREFIX: spec.prefix,
      LOG_LEVEL: "warn",
      // Admin methods open: the bench creates its own campaigns (an inherited key would lock it out).
      ADMIN_API_KEY: "",
      ...spec.env,
    };
    const child = await startNodeChild(`${spec.root}dist/src/main.js`, env, `http://127.0.0.1:${port}`, "/healthz", 120_000);
    const db = await mysql.createConnection({ uri: `${spec.serverUri}/${spec.database}` });
    return new BenchService(spec, child, db);
  }

  get url(): string {
    return this.child.url;
  }

  get pid(): number {
    return this.child.process.pid ?? 0;
  }

  /**
   * Creates a campaign opening at `startMs`, in the spec's sub-pools unless `shards` says how many;
   * its pool loads in the background (see `waitLoaded`).
   */
  createCampaign(name: string, coupons: number, startMs: number, shards = this.spec.shards ?? 1): Promise<string> {
    return this.client.createCampaign(`${this.spec.label}: ${name}`, startMs, coupons, shards);
  }

  async waitLoaded(ids: readonly string[], timeoutMs = 600_000): Promise<void> {
    await waitUntilLoaded(
      this.client,
      ids.map((id, index) => ({ index, id, coupons: 0, startMs: 0, expect: "min" as const })),
      timeoutMs,
    );
  }

  /** Issued and state from GetCampaign, without the codes (cheap at any size). */
  async campaign(id: string): Promise<{ issued: number; state: string }> {
    const res = await this.client.call<{ campaign?: { issued?: string; state?: string } }>("GetCampaign", { campaignId: id, omitCodes: true });
    return { issued: Number(res.campaign?.issued ?? 0), state: res.campaign?.state ?? "CAMPAIGN_STATE_UNSPECIFIED" };
  }

  /** Owners written to MySQL for these campaigns: a primary-key range count per campaign. */
  async persisted(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const [rows] = await this.db.query("SELECT COUNT(*) AS n FROM coupon_issues WHERE campaign_id IN (?)", [ids.map(Number)]);
    return Number((rows as Array<{ n: number }>)[0]?.n ?? 0);
  }

  /** Rows, distinct codes and distinct owners of one campaign in MySQL: equal when every owner is there once. */
  async ownersInMysql(id: string): Promise<{ rows: number; codes: number; users: number }> {
    const [rows] = await this.db.query(
      "SELECT COUNT(*) AS n, COUNT(DISTINCT code) AS codes, COUNT(DISTINCT user_id) AS users FROM coupon_issues WHERE campaign_id = ?",
      [Number(id)],
    );
    const r = (rows as Array<{ n: number; codes: number; users: number }>)[0];
    return { rows: Number(r?.n ?? 0), codes: Number(r?.codes ?? 0), users: Number(r?.users ?? 0) };
  }

  /**
   * Starts a persister alone (`PERSISTER=only`, same database, prefix and WORKERS) on this
   * service's backlog: the PERSISTER=off service leaves its issues in the streams.
   */
  startPersisterOnly(): ChildProcess {
    const env = {
      ...process.env,
      HOST: "127.0.0.1",
      DATABASE_URL: `${this.spec.serverUri}/${this.spec.database}`,
      REDIS_URL: this.spec.redisUrl,
      REDIS_KEY_PREFIX: this.spec.prefix,
      LOG_LEVEL: "warn",
      ADMIN_API_KEY: "",
      ...this.spec.env,
      PERSISTER: "only",
    };
    return spawn(process.execPath, [`${this.spec.root}dist/src/main.js`], { env, stdio: ["ignore", "ignore", "inherit"] });
  }

  private stopping: Promise<void> | undefined;

  /** Stops the service and removes its database and Redis keys (once, however often called). */
  stop(): Promise<void> {
    return (this.stopping ??= this.teardown());
  }

  private async teardown(): Promise<void> {
    await this.client.close().catch(() => undefined);
    await this.db.end().catch(() => undefined);
    await this.child.stop();
    await dropDatabase(this.spec.serverUri, this.spec.database).catch(() => undefined);
    await deleteKeysWithPrefix(this.spec.redisUrl, this.spec.prefix).catch(() => undefined);
  }
}

/** Stops a child process (SIGTERM, SIGKILL after 30 s) and waits for it. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const force = setTimeout(() => child.kill("SIGKILL"), 30_000);
  await gone;
  clearTimeout(force);
}
