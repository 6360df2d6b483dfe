/**
 * Arrival schedules: when call `i` is due, in ms from the start of the load.
 */
export type Schedule = { calls: number; offsetMs: (i: number) => number };

/** `calls` calls evenly spread over `durationMs`. */
export function constantRate(calls: number, durationMs: number): Schedule {
  const gapMs = durationMs / calls;
  return { calls, offsetMs: (i) => i * gapMs };
}

/**
 * A rate rising linearly from `fromRps` to `toRps` over `durationMs`. Calls sent by time t are
 * N(t) = r1·t + (r2 − r1)·t²/(2T); call i is due where N(t) = i, the root of that quadratic.
 */
export function rampRate(fromRps: number, toRps: number, durationMs: number): Schedule {
  const T = durationMs / 1000;
  const calls = Math.round(((fromRps + toRps) / 2) * T);
  const slope = (toRps - fromRps) / T; // calls per second per second
  const offsetMs =
    slope === 0
      ? (i: number) => (i / fromRps) * 1000
      : (i: number) => ((-fromRps + Math.sqrt(fromRps * fromRps + 2 * slope * i)) / slope) * 1000;
  return { calls, offsetMs };
}
