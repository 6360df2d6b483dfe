import { defineConfig } from "vitest/config";

// Every test file runs against the real MariaDB and Redis, in a database and key prefix of its own
// (src/testing/harness.ts), so files run in parallel without touching each other's data.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "scripts/**/*.test.ts", "k6/**/*.test.ts"],
    exclude: ["**/node_modules/**", "dist/**", "src/**/*.faults.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Most files spend their time waiting on MariaDB, Redis or a child process, not on a core:
    // three at once on two cores takes about two thirds of the time of one at a time (vitest's
    // default here: one fewer than the cores).
    maxWorkers: 3,
    // Files run one after another in each worker on the modules it has already loaded, instead of
    // each importing the whole service again (that import was a third of the suite's CPU). Files
    // share no state: each works in a database and key prefix of its own and starts its own services.
    isolate: false,
  },
});
