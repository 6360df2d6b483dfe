import type { RoundTripFigures, RoundTripPhase } from "./round-trips.js";

const phase = (calls: number, scripts: number, hscans = 0): RoundTripPhase => ({ calls, ok: 0, soldOut: calls, other: 0, scripts, perCall: scripts / calls, hscans });

/** Round-trip figures of a made-up run, for the rendering tests. */
export function exampleRoundTrips(): RoundTripFigures {
  return {
    coupons: 40_000,
    refusalCalls: 20_000,
    connections: 64,
    hot: [0, 1, 2],
    hotShare: 0.6,
    workers: "WORKERS default: one process per core",
    redis: "7.0.15",
    runs: [
      { shards: 1, burst: { ...phase(40_000, 40_000), ok: 40_000, soldOut: 0 }, anonymous: phase(20_000, 60, 40), named: phase(20_000, 160), holders: { ...phase(20_000, 20_000), ok: 20_000, soldOut: 0 }, holdersWalked: 0 },
      { shards: 8, burst: { ...phase(40_000, 40_800, 42), ok: 40_000, soldOut: 0 }, anonymous: phase(20_000, 20, 6), named: phase(20_000, 1_200), holders: { ...phase(20_000, 20_010), ok: 20_000, soldOut: 0 }, holdersWalked: 5_000 },
    ],
    violations: [],
  };
}
