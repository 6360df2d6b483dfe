import type { Command } from "commander";
import { ConfigError, loadConfig } from "../../../src/config.js";
import { createDb, createPool, parseDatabaseUrl } from "../../../src/db/client.js";
import { deploymentKey, loadDeploymentId, takeOverNamespace } from "../../../src/ops/deployment-identity.js";
import { createRedis } from "../../../src/redis/client.js";
import { CliError } from "../context.js";

/**
 * `take-over-namespace --from ID`: makes this deployment (the database at DATABASE_URL) the owner
 * of the Redis namespace at REDIS_URL / REDIS_CLUSTER_NODES and REDIS_KEY_PREFIX, which another
 * deployment holds. Never automatic: for a restored database or a namespace known to be abandoned.
 * It reads the same environment the service does (run it with the refused instance's settings),
 * and talks to MySQL and Redis directly: the service it concerns refuses to start until it is done.
 */
export function registerTakeOverNamespace(program: Command): void {
  program
    .command("take-over-namespace")
    .description(
      "make this deployment (DATABASE_URL) the owner of the Redis namespace (REDIS_URL, REDIS_KEY_PREFIX) another deployment holds; " +
        "only for a restored database or an abandoned namespace",
    )
    .requiredOption("--from <deployment-id>", "the deployment id the namespace names now (the service's refusal quotes it)")
    .action(async (opts: { from: string }) => {
      let config;
      try {
        config = loadConfig();
      } catch (err) {
        if (err instanceof ConfigError) throw new CliError(err.message);
        throw err;
      }
      const pool = createPool(parseDatabaseUrl(config.DATABASE_URL), 1);
      const redis = createRedis(
        { url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES?.split(",") },
        "bulk",
        config.REDIS_COMMAND_TIMEOUT_MS,
      );
      redis.on("error", () => undefined); // reported by the command that fails
      try {
        const ours = await loadDeploymentId(createDb(pool)).catch((err: Error) => {
          throw new CliError(`Cannot read this deployment's id from MySQL (${err.message}).`);
        });
        if (ours === opts.from) {
          throw new CliError(`--from ${opts.from} is this database's own deployment id: nothing to take over.`);
        }
        await redis.connect();
        const { before } = await takeOverNamespace(redis, config.REDIS_KEY_PREFIX, ours, opts.from).catch((err: Error) => {
          throw new CliError(`Refused: ${err.message}.`);
        });
        process.stdout.write(
          `namespace REDIS_KEY_PREFIX="${config.REDIS_KEY_PREFIX}" (key ${deploymentKey(config.REDIS_KEY_PREFIX)}) ` +
            `now belongs to deployment ${ours}${before === null ? " (it named none)" : `, taken over from ${before}`}; ` +
            "instances of this deployment can start. Stop every instance of the other deployment: its /readyz now reports the takeover.\n",
        );
      } finally {
        redis.disconnect();
        await pool.end();
      }
    });
}
