// Adds up vitest JSON reports (and the one-entry reports other CI steps write in the same shape)
// and prints the closing line CI reads: "N passed, N failed". A file that failed without any
// failed test (it did not load, or a hook threw) counts as one failure. Exits 1 when anything
// failed or when no test ran at all.
import { readFileSync } from "node:fs";

let passed = 0;
let failed = 0;
const files = process.argv.slice(2);
for (const file of files) {
  try {
    const r = JSON.parse(readFileSync(file, "utf8"));
    passed += r.numPassedTests ?? 0;
    failed += r.numFailedTests ?? 0;
    for (const suite of r.testResults ?? []) {
      const anyFailed = (suite.assertionResults ?? []).some((a) => a.status === "failed");
      if (suite.status === "failed" && !anyFailed) failed += 1;
    }
  } catch (err) {
    console.error(`could not read ${file}: ${err.message}`);
    failed += 1;
  }
}
if (files.length === 0) failed += 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
