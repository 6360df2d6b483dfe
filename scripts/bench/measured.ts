import type { LoadPhase } from "../loadtest/scenarios/scenario.js";
import { meterLoad, waitForQuiet, type LoadShare, type Measured, type PidGroups } from "./box-load.js";

/** A run starts once the machine is at most this busy (other people's builds skew every figure). */
const QUIET_BUSY_PCT = 15;
/** At most this long: on a machine others keep busy, four creation figures must not wait 12 minutes in all. */
const QUIET_TIMEOUT_MS = 30_000;
/** A figure taken while other processes used more than this share of the machine is taken again. */
const MAX_FOREIGN_PCT = 10;
const MAX_TRIES = 3;

const say = (line: string) => console.error(`bench: ${line}`);

/** Lets a measured run mark the start and end of its timed load (see RunHooks.phase). */
export type PhaseMarker = (p: LoadPhase) => void;

/**
 * Waits for a quiet machine, then runs `fn` while metering the machine and each group of pids,
 * over the whole run and over the load phase `fn` marks (the whole run if it marks none).
 */
export async function measured<T>(what: string, groups: () => PidGroups, fn: (phase: PhaseMarker) => Promise<T>): Promise<Measured<T>> {
  const quiet = await waitForQuiet(QUIET_BUSY_PCT, QUIET_TIMEOUT_MS);
  say(`${what} (machine ${quiet.busyPct ?? "?"} % busy after waiting ${Math.round(quiet.waitedMs / 1000)} s for quiet)`);
  const stopWhole = meterLoad(groups);
  let stopPhase: (() => LoadShare | null) | undefined;
  let loadPhase: LoadShare | null | undefined;
  const value = await fn((p) => {
    if (p === "load-start") stopPhase = meterLoad(groups);
    else if (stopPhase) loadPhase = stopPhase();
  });
  const load = stopWhole();
  if (load) say(`${what}: machine ${load.boxBusyPct} % busy, ${load.foreignPct} % of the machine used by processes outside the bench`);
  return { value, load, loadPhase: loadPhase === undefined ? load : loadPhase, quietWaitMs: quiet.waitedMs, busyBeforePct: quiet.busyPct };
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
