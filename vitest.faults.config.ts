import { defineConfig } from "vitest/config";

// The fault suite (`npm run test:faults`): tests that kill processes, cut connections and start
// their own Redis servers. Slow by nature, so kept out of `npm test`; CI runs both.
export default defineConfig({
  test: {
    include: ["src/**/*.faults.test.ts"],
    // Collects every fault test's figures and renders docs/reliability.md at the end.
    globalSetup: ["src/testing/faults-global-setup.ts"],
    testTimeout: 240_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Faults compete for two cores with the service under test: one file at a time.
    fileParallelism: false,
  },
});
