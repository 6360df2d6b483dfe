import type { HttpBindings } from "@hono/node-server";
import { Hono } from "hono";
import type { Deps } from "./deps.js";
import { mountRpc } from "./rpc/mount.js";

/** The HTTP surface: Connect RPC plus plain operational routes. */
export function buildApp(deps: Deps): Hono<{ Bindings: HttpBindings }> {
  const app = new Hono<{ Bindings: HttpBindings }>();
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  mountRpc(app, deps);
  app.notFound((c) => c.json({ error: "not found" }, 404));
  return app;
}
