import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { FAULT_REPORT_FILE, readFaultRows, renderFaultTable, renderReliabilityDoc } from "./fault-report.js";

const RELIABILITY_DOC = "docs/reliability.md";

/** Clears the fault report before the suite, and publishes it after. */
export function setup(): void {
  rmSync(FAULT_REPORT_FILE, { force: true });
}

export function teardown(): void {
  const rows = readFaultRows();
  if (rows.length === 0) return;
  const table = renderFaultTable(rows);
  const existing = existsSync(RELIABILITY_DOC) ? readFileSync(RELIABILITY_DOC, "utf8") : undefined;
  const doc = renderReliabilityDoc(existing, table, new Date().toISOString());
  mkdirSync("docs", { recursive: true });
  writeFileSync(RELIABILITY_DOC, doc);
  console.log(`\n${table}\n`);
}
