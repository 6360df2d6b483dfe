import { afterAll, beforeAll } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort } from "./child-service.js";
import { startTestService, stopTestService, waitFor, type TestService } from "./harness.js";

/**
 * A real three-master Redis Cluster on free local ports, for tests: `redis-server
 * --cluster-enabled yes` three times, then `redis-cli --cluster create`. Stop it with `stop()`.
 */
export type LocalRedisCluster = { nodes: string[]; stop(): Promise<void> };

export async function startRedisCluster(masters = 3): Promise<LocalRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), "coupons-cluster-"));
  const ports: number[] = [];
  for (let i = 0; i < masters; i++) ports.push(await freePort());
  for (const port of ports) {
    const nodeDir = join(dir, String(port));
    spawnSync("mkdir", ["-p", nodeDir]);
    const p = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes", "--cluster-config-file", join(nodeDir, "nodes.conf"),
        "--dir", nodeDir, "--save", "", "--appendonly", "no", "--daemonize", "no"],
      { stdio: "ignore", detached: false },
    );
    p.unref();
  }
  await waitFor("cluster nodes to start", async () => {
    for (const port of ports) {
      const r = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      try {
        await r.connect();
        await r.ping();
      } finally {
        r.disconnect();
      }
    }
    return true;
  });
  const nodes = ports.map((p) => `127.0.0.1:${p}`);
  const created = spawnSync("redis-cli", ["--cluster", "create", ...nodes, "--cluster-yes"], { encoding: "utf8" });
  if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
  await waitFor("the cluster to be ok", async () => {
    const r = new Redis({ port: ports[0], lazyConnect: true });
    try {
      await r.connect();
      const info = await r.cluster("INFO");
      return String(info).includes("cluster_state:ok") ? true : undefined;
    } finally {
      r.disconnect();
    }
  });
  return {
    nodes,
    async stop() {
      for (const port of ports) spawnSync("redis-cli", ["-p", String(port), "shutdown", "nosave"]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The real service on a fresh three-master cluster; `stop()` stops both and drops the data. */
export async function startTestServiceOnCluster(): Promise<{ service: TestService; stop(): Promise<void> }> {
  const cluster = await startRedisCluster(3);
  const service = await startTestService({ REDIS_CLUSTER_NODES: cluster.nodes.join(",") }).catch(async (err: unknown) => {
    await cluster.stop();
    throw err;
  });
  return {
    service,
    async stop() {
      await stopTestService(service);
      await cluster.stop();
    },
  };
}

/**
 * For a test file whose tests share one service on a fresh cluster: started before them, handed
 * to `onStarted`, stopped (with the cluster and the data) after them.
 */
export function useServiceOnCluster(onStarted: (service: TestService) => void): void {
  let stop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const started = await startTestServiceOnCluster();
    stop = started.stop;
    onStarted(started.service);
  });
  afterAll(async () => {
    await stop?.();
  });
}
