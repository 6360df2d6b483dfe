import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { FAULT_REPORT_FILE, readFaultRows, renderFaultTable } from "./fault-report.js";

/** Clears the fault report before the suite, and publishes it after. */
export function setup(): void {
  rmSync(FAULT_REPORT_FILE, { force: true });
}

export function teardown(): void {
  const rows = readFaultRows();
  if (rows.length === 0) return;
  const table = renderFaultTable(rows);
  const doc = [
    "# Reliability: faults and what the service does",
    "",
    "Written by the last run of `npm run test:faults` (each row is one fault test, injected for real;",
    "see the test files named in the README). Do not edit by hand.",
    "",
    `Last run: ${new Date().toISOString()}`,
    "",
    table,
    "",
  ].join("\n");
  mkdirSync("docs", { recursive: true });
  writeFileSync("docs/reliability.md", doc);
  console.log(`\n${table}\n`);
}
