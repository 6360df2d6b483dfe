import type { CreationFigures } from "./creation-figures.js";

const load = { boxBusyPct: 98, foreignPct: 3, cpuMs: { service: 6_000, redis: 960, mariadb: 12_000, generator: 7_200, bare: 0 } };
const measured = <T>(value: T) => ({ value, load, loadPhase: load, quietWaitMs: 1000, busyBeforePct: 2 });

/** Creation figures of a made-up run, for the rendering tests. */
export function exampleCreationFigures(): CreationFigures {
  return {
    small: measured({ coupons: 100_000, ms: 2_000, codesPerSecond: 50_000, campaignId: "1" }),
    rounds: [
      { reference: measured({ coupons: 1_000_000, ms: 8_000, codesPerSecond: 125_000 }), service: measured({ coupons: 1_000_000, ms: 10_000, codesPerSecond: 100_000, campaignId: "2" }), ratio: 0.8 },
      { reference: measured({ coupons: 1_000_000, ms: 9_000, codesPerSecond: 111_111 }), service: measured({ coupons: 1_000_000, ms: 10_000, codesPerSecond: 100_000, campaignId: "3" }), ratio: 0.9 },
      { reference: measured({ coupons: 1_000_000, ms: 5_000, codesPerSecond: 200_000 }), service: measured({ coupons: 1_000_000, ms: 10_000, codesPerSecond: 100_000, campaignId: "4" }), ratio: 0.5 },
    ],
    ratio: 0.8,
    memory: {
      pool: { bytes: 19_500_000, elements: 1_000_000, bytesPerElement: 19.5, encoding: "quicklist" },
      listpackSize: "-2",
      issued: 20_000,
      users: { bytes: 1_200_000, elements: 20_000, bytesPerElement: 60, encoding: "hashtable" },
      stream: { bytes: 1_000_000, elements: 20_000, bytesPerElement: 50, encoding: "stream" },
      bytesPerIssued: 110,
      bytesPerIssuedPersisted: 60,
    },
    tenMillion: null,
  };
}
