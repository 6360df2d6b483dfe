import { meterLoad, waitForQuiet, type Measured } from "./box-load.js";

/** A run starts once the machine is at most this busy (other people's builds skew every figure). */
const QUIET_BUSY_PCT = 15;
const QUIET_TIMEOUT_MS = 180_000;
/** A figure taken while other processes used more than this share of the machine is taken again. */
const MAX_FOREIGN_PCT = 10;
const MAX_TRIES = 3;

const say = (line: string) => console.error(`bench: ${line}`);

/** Waits for a quiet machine, then runs `fn` while metering how busy the machine was and who made it so. */
export async function measured<T>(what: string, pids: () => number[], fn: () => Promise<T>): Promise<Measured<T>> {
  const quiet = await waitForQuiet(QUIET_BUSY_PCT, QUIET_TIMEOUT_MS);
  say(`${what} (machine ${quiet.busyPct ?? "?"} % busy after waiting ${Math.round(quiet.waitedMs / 1000)} s for quiet)`);
  const stop = meterLoad(pids);
  const value = await fn();
  const load = stop();
  if (load) say(`${what}: machine ${load.boxBusyPct} % busy, ${load.foreignPct} % of it (of the whole machine) by processes outside the bench`);
  return { value, load, quietWaitMs: quiet.waitedMs, busyBeforePct: quiet.busyPct };
}

function disturbance(figures: ReadonlyArray<Measured<unknown>>): number {
  return Math.max(...figures.map((f) => f.load?.foreignPct ?? 0));
}

/**
 * Takes figures that belong together (a burst and its ceiling) again when other processes
 * disturbed them, up to three times, and keeps the least disturbed set.
 */
export async function leastDisturbed<T extends ReadonlyArray<Measured<unknown>>>(what: string, attempt: () => Promise<T>): Promise<T> {
  let best: T | undefined;
  for (let tries = 1; tries <= MAX_TRIES; tries++) {
    const figures = await attempt();
    if (!best || disturbance(figures) < disturbance(best)) best = figures;
    if (disturbance(best) <= MAX_FOREIGN_PCT) break;
    say(`${what}: ${disturbance(figures)} % of the machine went to other processes${tries < MAX_TRIES ? "; measuring again" : "; keeping the least disturbed try"}`);
  }
  return best!;
}
