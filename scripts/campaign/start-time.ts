import { CliError } from "./context.js";

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** An ISO 8601 instant that names its offset: 2026-12-01T10:00:00+09:00 or …Z. */
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Parses a start instant as the admin types it: `now`, `+30s` / `+5m` / `+2h` / `+1d` from now, or
 * an ISO instant with its offset (a bare local time is refused: which zone would it be in?).
 * Returns ms since the epoch.
 */
export function parseStart(text: string, nowMs: number, flag = "--start"): number {
  const t = text.trim();
  if (t === "now") return nowMs;
  const rel = /^\+(\d{1,9})([smhd])$/.exec(t);
  if (rel) return nowMs + Number(rel[1]) * UNIT_MS[rel[2] as keyof typeof UNIT_MS];
  if (ISO_WITH_OFFSET.test(t)) {
    const ms = Date.parse(t);
    if (Number.isFinite(ms)) return ms;
  }
  throw new CliError(
    `${flag} "${text}" is not a date: use now, +30s (or m, h, d), or an instant with its offset such as 2026-12-01T10:00:00+09:00.`,
  );
}
