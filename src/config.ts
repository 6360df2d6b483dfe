import { availableParallelism } from "node:os";
import { z } from "zod";

/**
 * Every setting the service reads, parsed once at start-up. Nothing else reads `process.env`.
 * Defaults work on a developer machine with local MariaDB and Redis.
 */
const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default("0.0.0.0"),
  DATABASE_URL: z
    .string()
    .url()
    .refine((u) => u.startsWith("mysql://"), "must be a mysql:// URL")
    .default("mysql://root@127.0.0.1:3306/coupons"),
  REDIS_URL: z
    .string()
    .url()
    .refine((u) => /^rediss?:\/\//.test(u), "must be a redis:// URL")
    .default("redis://127.0.0.1:6379"),
  /**
   * Seed nodes of a Redis Cluster, `host:port,host:port,…`. When set, the service runs on the
   * cluster and REDIS_URL is not used.
   */
  REDIS_CLUSTER_NODES: z
    .string()
    .regex(/^\s*[^,:\s]+:\d+\s*(,\s*[^,:\s]+:\d+\s*)*$/, "must be host:port[,host:port…]")
    .optional(),
  /** Prepended to every Redis key; lets tests and several deployments share one Redis. */
  REDIS_KEY_PREFIX: z.string().max(64).default(""),
  /**
   * `true`: refuse to start when Redis is unsafe for coupons (AOF off, appendfsync no, or an
   * evicting maxmemory-policy; src/ops/settings-check.ts). `false` (default, for development):
   * start anyway and log a warning. Production (docker/compose.yaml) sets it.
   */
  REQUIRE_DURABLE_REDIS: z.enum(["true", "false"], "must be true or false").default("false").transform((v) => v === "true"),
  /** `on`: serve and persist; `off`: serve only; `only`: persist only, no HTTP server. */
  PERSISTER: z.enum(["on", "off", "only"]).default("on"),
  /** `fast`: IssueCoupon through its dedicated handler; `connect`: through the connect-es router. */
  ISSUE_PATH: z.enum(["fast", "connect"]).default("fast"),
  /** Redis command timeout for request paths, in ms: a request never waits longer on Redis. */
  REDIS_COMMAND_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(2000),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /**
   * How long the Redis keys of an ended or sold-out campaign are kept, once every owner is in
   * MySQL, before the sweeper removes them, in ms (a cancelled one's go as soon as its owners are
   * in MySQL). Until then a holder of a sold-out campaign asking again gets their code back from
   * Redis; after, the answer is "sold out" and reads come from MySQL.
   */
  CLOSED_CAMPAIGN_GRACE_MS: z.coerce.number().int().min(0).max(30 * 24 * 3600 * 1000).default(15 * 60 * 1000),
  /** How often each instance's sweeper looks for closed campaigns to clean up, in ms. */
  SWEEP_INTERVAL_MS: z.coerce.number().int().min(10).max(3600 * 1000).default(30_000),
  /**
   * Bearer key that admin methods (src/ops/admin-auth.ts ADMIN_METHODS) require. Unset (or empty):
   * admin methods are open, as in the original service, and a warning is logged at start-up.
   */
  ADMIN_API_KEY: z.preprocess(
    (v) => (v === "" ? undefined : v),
    z.string().min(16, "must be at least 16 characters (use e.g. `openssl rand -hex 32`)").optional(),
  ),
  /** Processes `npm start` runs (node:cluster), each a full instance; default: the number of cores. */
  WORKERS: z.coerce.number().int().min(1).max(64).default(availableParallelism()),
  /**
   * An issue read by a persister that has not acknowledged it for this long is taken over by
   * another persister (the first one died or hangs), in ms. Must exceed a batch's write time.
   */
  PERSISTER_CLAIM_IDLE_MS: z.coerce.number().int().min(100).max(600_000).default(15_000),
  /** IssueCoupon calls one user may make per window on one campaign; 0 (default): no limit. */
  ISSUE_RATE_LIMIT_PER_USER: z.coerce.number().int().min(0).default(0),
  /** IssueCoupon calls one client address may make per window on one campaign; 0 (default): no limit. */
  ISSUE_RATE_LIMIT_PER_IP: z.coerce.number().int().min(0).default(0),
  /** The rate-limit window, in ms. */
  ISSUE_RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(100).max(3_600_000).default(1000),
  /** A pool loader that has not renewed its lease for this long is presumed dead and its load
   * is taken over by another instance, in ms (src/campaigns/load-lease.ts). */
  LOAD_LEASE_MS: z.coerce.number().int().min(1000).max(600_000).default(15_000),
  /** Issue budget a campaign opens with (src/campaigns/issue-budget.ts). */
  ISSUE_BUDGET_INITIAL: z.coerce.number().int().min(1).default(50_000),
  /** Least number of codes the issue budget keeps ahead of the issued count. */
  ISSUE_BUDGET_MIN_HEADROOM: z.coerce.number().int().min(1).default(20_000),
  /** Seconds of the current issue rate the budget keeps ahead, when that is more. */
  ISSUE_BUDGET_HEADROOM_S: z.coerce.number().min(0).max(3600).default(10),
  /** How often each instance checks the budgets, in ms. */
  ISSUE_BUDGET_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(200),
  /**
   * Most issued codes one GetCampaign answer lists. 100,000 codes are ~1.9 MB binary (~2 MB of
   * JSON) and ~250 ms to read: a 100,000-coupon campaign's winners fit in one answer (the bench
   * and k6 verify such campaigns this way), while an answer never grows with the campaign
   * (10,000,000 codes would be ~190 MB). Above it GetCampaign refuses the list and names
   * ListIssuedCoupons, which pages through any number; `omit_codes` reads the counts alone.
   */
  GET_CAMPAIGN_MAX_CODES: z.coerce.number().int().min(1).max(10_000_000).default(100_000),
  /**
   * Optional signed user identity for IssueCoupon (src/rpc/user-identity.ts): with either set,
   * IssueCoupon requires `Authorization: Bearer <JWT>` and takes the user from its `sub`.
   * USER_TOKEN_SECRET: the HS256 key (at least 32 characters). USER_TOKEN_PUBLIC_KEY: an EC P-256
   * (ES256) or RSA (RS256) public key in PEM (`\n` escapes allowed). Set at most one.
   */
  USER_TOKEN_SECRET: z.preprocess(
    (v) => (v === "" ? undefined : v),
    z.string().min(32, "must be at least 32 characters (use e.g. `openssl rand -hex 32`)").optional(),
  ),
  USER_TOKEN_PUBLIC_KEY: z.preprocess(
    (v) => (v === "" ? undefined : typeof v === "string" ? v.replace(/\\n/g, "\n") : v),
    z.string().includes("-----BEGIN PUBLIC KEY-----", { message: "must be a PEM public key (-----BEGIN PUBLIC KEY-----)" }).optional(),
  ),
  /** When set, a user token's `iss` must equal it. */
  USER_TOKEN_ISSUER: z.preprocess((v) => (v === "" ? undefined : v), z.string().optional()),
  /** When set, a user token's `aud` must contain it. */
  USER_TOKEN_AUDIENCE: z.preprocess((v) => (v === "" ? undefined : v), z.string().optional()),
  /** Longest a SIGTERM/SIGINT shutdown may take before the process gives up and exits 1, in ms. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
});

/** Every environment variable the service reads. */
export const CONFIG_KEYS: readonly string[] = Object.keys(schema.shape);

export type Config = Readonly<z.infer<typeof schema>>;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Parses the environment, listing every problem at once. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${problems.join("\n")}`);
  }
  if (result.data.USER_TOKEN_SECRET !== undefined && result.data.USER_TOKEN_PUBLIC_KEY !== undefined) {
    throw new ConfigError("invalid configuration:\n  USER_TOKEN_SECRET, USER_TOKEN_PUBLIC_KEY: set one, not both");
  }
  return Object.freeze(result.data);
}
