import type { ServerResponse } from "node:http";
import type { HttpBindings } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { Hono, type Context } from "hono";
import { adminKeyCheck } from "../ops/admin-auth.js";
import { consoleAsset } from "./assets.js";
import type { LiveFeed } from "./live-feed.js";
import { campaignPage, listPage } from "./pages.js";

type Env = { Bindings: HttpBindings };

export type ConsoleOptions = {
  /** The service's ADMIN_API_KEY; undefined: the console is open, as the admin methods are. */
  adminApiKey: string | undefined;
  feed: LiveFeed;
};

/**
 * The pages may only load the service's own files and talk to the service itself; the admin key
 * sits in session storage, so nothing foreign may run beside it.
 */
const PAGE_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

/** Reconnect delay the browser is told for a feed that ends, in ms. */
const SSE_RETRY_MS = 2000;

/**
 * The web console, mounted at /console: pages, their static files, and the live feeds the pages
 * read (server-sent events, one event per second). Actions go from the page straight to the
 * Connect admin methods, so the admin key guards them exactly as it guards any other client.
 */
export function consoleRoutes({ adminApiKey, feed }: ConsoleOptions): Hono<Env> {
  const app = new Hono<Env>();
  const check = adminApiKey === undefined ? undefined : adminKeyCheck(adminApiKey);
  const keyRequired = check !== undefined;

  app.get("/", (c) => c.html(listPage(keyRequired), 200, PAGE_HEADERS));
  app.get("/campaigns/:id{[1-9][0-9]{0,15}}", (c) => c.html(campaignPage(keyRequired, Number(c.req.param("id"))), 200, PAGE_HEADERS));

  app.get("/assets/:name", (c) => {
    const asset = consoleAsset(c.req.param("name"));
    if (!asset) return c.json({ error: "not found" }, 404);
    const headers = { etag: asset.etag, "cache-control": "no-cache", "x-content-type-options": "nosniff" };
    if (c.req.header("if-none-match") === asset.etag) return c.body(null, 304, headers);
    return c.body(new Uint8Array(asset.body), 200, { ...headers, "content-type": asset.contentType });
  });

  /** The feeds carry what ListCampaigns answers: they need the key whenever it does. */
  const refused = (c: Context<Env>) =>
    check && !check(c.req.header("authorization"))
      ? c.json({ code: "unauthenticated", message: 'the console\'s live feed needs the admin key: send "Authorization: Bearer <key>" with the service\'s ADMIN_API_KEY' }, 401)
      : undefined;

  app.get("/feed/campaigns", (c) => {
    const no = refused(c);
    if (no) return no;
    const res = openStream(c.env.outgoing);
    const stop = feed.watchList((e) => {
      if (e.kind === "closed") return void res.end();
      send(res, e.kind, e.kind === "list" ? { campaigns: e.campaigns } : { message: e.message });
    });
    res.on("close", stop);
    return RESPONSE_ALREADY_SENT;
  });

  app.get("/feed/campaigns/:id{[1-9][0-9]{0,15}}", (c) => {
    const no = refused(c);
    if (no) return no;
    const res = openStream(c.env.outgoing);
    const watch = feed.watchCampaign(Number(c.req.param("id")), (e) => {
      if (e.kind === "closed") return void res.end();
      const { kind, ...data } = e;
      send(res, kind, data);
    });
    send(res, "history", { points: watch.history }, true);
    res.on("close", watch.stop);
    return RESPONSE_ALREADY_SENT;
  });

  return app;
}

function openStream(res: ServerResponse): ServerResponse {
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-store",
    // Proxies (nginx) must pass each event on at once rather than buffer the stream.
    "x-accel-buffering": "no",
  });
  res.write(`retry: ${SSE_RETRY_MS}\n\n`);
  return res;
}

/**
 * One server-sent event. A client that cannot keep up misses samples rather than piling them up
 * in this process: the next one supersedes it anyway.
 */
function send(res: ServerResponse, event: string, data: unknown, always = false): void {
  if (res.writableEnded || (!always && res.writableNeedDrain)) return;
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}
