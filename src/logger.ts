import { createRequire } from "node:module";
import { pino, type Logger } from "pino";

/** pino-pretty is a dev dependency: a production install (the Docker image) logs JSON even on a terminal. */
function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve("pino-pretty");
    return true;
  } catch {
    return false;
  }
}

/**
 * One JSON line per event for machines; pretty lines when a person watches a terminal. Request
 * paths log at debug, so the default `info` level writes nothing per call on the hot path.
 */
export function createLogger(level: string, name = "coupons"): Logger {
  const pretty = process.stdout.isTTY && level !== "silent" && prettyAvailable();
  return pino({
    name,
    level,
    ...(pretty ? { transport: { target: "pino-pretty", options: { colorize: true } } } : {}),
  });
}
