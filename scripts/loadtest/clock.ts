/**
 * Wall-clock time in ms, straight from the system clock (Date.now, not a monotonic clock plus an
 * origin that could drift from it): on one machine it is the clock the service's Redis reads for
 * the start instant, which is what makes the boundary checks exact. Latencies use
 * performance.now() instead.
 */
export const wallNowMs = (): number => Date.now();

/** Resolves at (or just after) the wall-clock instant `atMs`; at once if it has passed. */
export function sleepUntil(atMs: number): Promise<void> {
  return sleepMs(atMs - wallNowMs());
}

export function sleepMs(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, Math.ceil(ms)));
}
