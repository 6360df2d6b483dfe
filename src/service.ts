import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { Logger } from "pino";
import { buildApp } from "./app.js";
import type { Config } from "./config.js";
import { closeDeps, createDeps, type Deps } from "./deps.js";
import { Persister, type PersisterOptions } from "./persist/persister.js";

export type RunningService = {
  deps: Deps;
  /** Undefined when PERSISTER=only. */
  server: Server | undefined;
  /** Undefined when PERSISTER=off. */
  persister: Persister | undefined;
  /** e.g. http://127.0.0.1:8080 */
  url: string | undefined;
  stop(): Promise<void>;
};

/** Builds the dependencies, then serves HTTP and/or runs the persister as the config says. */
export async function startService(
  config: Config,
  logger: Logger,
  persisterOptions: Partial<PersisterOptions> = {},
): Promise<RunningService> {
  const deps = await createDeps(config, logger);
  const persister =
    config.PERSISTER === "off"
      ? undefined
      : new Persister({ db: deps.db, redis: deps.bulkRedis, keys: deps.keys, logger }, persisterOptions);
  persister?.start();

  let server: Server | undefined;
  let url: string | undefined;
  if (config.PERSISTER !== "only") {
    const app = buildApp(deps);
    server = await new Promise<Server>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, () => resolve(s as Server));
      (s as Server).once("error", reject);
    });
    server.keepAliveTimeout = 65_000;
    const addr = server.address() as AddressInfo;
    url = `http://${addr.address === "0.0.0.0" || addr.address === "::" ? "127.0.0.1" : addr.address}:${addr.port}`;
  }

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (server) {
        const closed = new Promise<void>((resolve) => server!.close(() => resolve()));
        server.closeIdleConnections();
        await closed;
      }
      await persister?.stop();
      await closeDeps(deps);
    })());
  return { deps, server, persister, url, stop };
}
