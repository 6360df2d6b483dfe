import type { HttpBindings } from "@hono/node-server";
import { Hono } from "hono";
import type { Deps } from "./deps.js";
import type { LiveFeed } from "./console/live-feed.js";
import { consoleRoutes } from "./console/routes.js";
import type { Readiness } from "./ops/health.js";
import { readLiveFigures } from "./ops/live-figures.js";
import type { Metrics } from "./ops/metrics.js";
import { httpListener, mountRpc, type NodeHandler } from "./rpc/mount.js";

/** What the operational routes read: built once per instance by `startService`. */
export type Ops = {
  metrics: Metrics;
  readiness: Readiness;
  /** The console's live figures: one shared read per campaign per second in this process. */
  liveFeed: LiveFeed;
};

/**
 * The HTTP surface: Connect RPC plus plain operational routes. `app` is the hono app (for
 * `app.request` in tests); `listener` is what the Node server runs, with IssueCoupon routed
 * before hono (src/rpc/mount.ts).
 */
export function buildApp(deps: Deps, ops: Ops): { app: Hono<{ Bindings: HttpBindings }>; listener: NodeHandler } {
  const app = new Hono<{ Bindings: HttpBindings }>();
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    const r = await ops.readiness.check();
    if (r.ready) return c.json({ status: "ready", checks: r.checks, settings: r.settings, deployment: r.deployment });
    return c.json(
      { status: "not ready", reason: r.problems.join(" "), checks: r.checks, settings: r.settings, deployment: r.deployment },
      503,
    );
  });
  app.get("/metrics", async (c) => {
    try {
      ops.metrics.setLiveFigures(await readLiveFigures(deps.bulkRedis, deps.keys));
    } catch (err) {
      // Still serve what this process knows; the pool and lag gauges keep their last values.
      ops.metrics.dependencyError("redis", "request");
      deps.logger.debug({ err }, "metrics: cannot read pool and lag figures from Redis");
    }
    try {
      const { contentType, body } = await ops.metrics.render();
      return c.body(body, 200, { "content-type": contentType });
    } catch (err) {
      // Under WORKERS > 1 a worker that does not report fails the scrape: a partial sum would
      // look to Prometheus like counters going backwards.
      return c.text(String((err as Error).message ?? err), 503);
    }
  });
  app.get("/console/", (c) => c.redirect("/console"));
  app.route("/console", consoleRoutes({ adminApiKey: deps.config.ADMIN_API_KEY, feed: ops.liveFeed }));
  const issueFast = mountRpc(app, deps, ops.metrics);
  app.notFound((c) => c.json({ error: "not found" }, 404));
  return { app, listener: httpListener(app, issueFast) };
}
