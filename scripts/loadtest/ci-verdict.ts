import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { LoadtestReport } from "./report.js";

/**
 * Turns one CI loadtest run into a vitest-JSON-shaped file, so that scripts/ci-summary.mjs counts
 * it with the unit tests: one test, "integrity", passed only when the report says so and the
 * command exited 0. Speed never fails it.
 *
 *   node dist/scripts/loadtest/ci-verdict.js <name> <report.json> <out.json> <exit status>
 */
function verdict(name: string, reportPath: string, exitStatus: number): { ok: boolean; messages: string[] } {
  if (!existsSync(reportPath)) return { ok: false, messages: [`loadtest ${name} exited with ${exitStatus} and wrote no report`] };
  const report = JSON.parse(readFileSync(reportPath, "utf8")) as LoadtestReport;
  const messages = [...report.integrity.violations];
  if (exitStatus !== 0 && messages.length === 0) messages.push(`loadtest ${name} exited with ${exitStatus}`);
  return { ok: report.integrity.ok && exitStatus === 0, messages };
}

const [name = "", reportPath = "", outPath = "", status = "1"] = process.argv.slice(2);
const { ok, messages } = verdict(name, reportPath, Number(status));
const title = "integrity";
writeFileSync(
  outPath,
  JSON.stringify({
    numPassedTests: ok ? 1 : 0,
    numFailedTests: ok ? 0 : 1,
    numTotalTests: 1,
    success: ok,
    testResults: [
      {
        name: `loadtest ${name}`,
        status: ok ? "passed" : "failed",
        assertionResults: [{ title, fullName: `loadtest ${name} ${title}`, status: ok ? "passed" : "failed", failureMessages: messages }],
      },
    ],
  }),
);
console.log(`loadtest ${name}: ${ok ? "integrity holds" : `FAILED\n  ${messages.join("\n  ")}`}`);
