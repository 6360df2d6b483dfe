import { pino, type Logger } from "pino";

/** JSON lines for machines; pretty lines when a person watches a terminal. */
export function createLogger(level: string, name = "coupons"): Logger {
  const pretty = process.stdout.isTTY && level !== "silent";
  return pino({
    name,
    level,
    ...(pretty ? { transport: { target: "pino-pretty", options: { colorize: true } } } : {}),
  });
}
