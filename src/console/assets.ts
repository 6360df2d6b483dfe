import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/** A file the console's pages load, held in memory once read. */
export type Asset = { body: Buffer; contentType: string; etag: string };

const require = createRequire(import.meta.url);
const own = (name: string) => fileURLToPath(new URL(`./assets/${name}`, import.meta.url));

/**
 * Every file the console serves, by the name in its URL. A fixed table, not a directory: no
 * request path ever reaches the file system. The console's own files sit in ./assets (copied
 * next to the compiled module by scripts/copy-assets.mjs); uPlot comes from node_modules.
 */
const FILES: Record<string, { path: () => string; contentType: string }> = {
  "console.css": { path: () => own("console.css"), contentType: "text/css; charset=utf-8" },
  "common.js": { path: () => own("common.js"), contentType: "text/javascript; charset=utf-8" },
  "list.js": { path: () => own("list.js"), contentType: "text/javascript; charset=utf-8" },
  "campaign.js": { path: () => own("campaign.js"), contentType: "text/javascript; charset=utf-8" },
  "uPlot.iife.min.js": {
    path: () => require.resolve("uplot/dist/uPlot.iife.min.js"),
    contentType: "text/javascript; charset=utf-8",
  },
  "uPlot.min.css": { path: () => require.resolve("uplot/dist/uPlot.min.css"), contentType: "text/css; charset=utf-8" },
};

const loaded = new Map<string, Asset>();

/** The asset of that name, or undefined when there is none. Read from disk on first use. */
export function consoleAsset(name: string): Asset | undefined {
  const cached = loaded.get(name);
  if (cached) return cached;
  const file = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
  if (!file) return undefined;
  const body = readFileSync(file.path());
  const asset = { body, contentType: file.contentType, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 16)}"` };
  loaded.set(name, asset);
  return asset;
}
