import { appendFileSync, mkdirSync, readFileSync, existsSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Figures of the fault suite. Each fault test records one row; the suite's teardown renders them
 * into docs/reliability.md and prints them, so the published table is never hand-written.
 */
export type FaultRow = {
  fault: string;
  /** What the service did, in a sentence. */
  behaviour: string;
  calls: number;
  issued: number;
  duplicates: number;
  lostOwners: number;
  /** From the end of the fault to full recovery, in ms; undefined when not applicable. */
  recoveryMs?: number;
};

export const FAULT_REPORT_FILE = "tmp/faults/report.jsonl";

export function recordFault(row: FaultRow): void {
  mkdirSync(dirname(FAULT_REPORT_FILE), { recursive: true });
  appendFileSync(FAULT_REPORT_FILE, `${JSON.stringify(row)}\n`);
}

export function readFaultRows(): FaultRow[] {
  if (!existsSync(FAULT_REPORT_FILE)) return [];
  return readFileSync(FAULT_REPORT_FILE, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as FaultRow);
}

/** A Markdown table of the rows. */
export function renderFaultTable(rows: FaultRow[]): string {
  const head = "| fault | what the service does | calls | codes issued | duplicates | lost owners | recovery |\n| --- | --- | --- | --- | --- | --- | --- |";
  const body = rows.map(
    (r) =>
      `| ${r.fault} | ${r.behaviour} | ${r.calls} | ${r.issued} | ${r.duplicates} | ${r.lostOwners} | ${r.recoveryMs === undefined ? "–" : `${(r.recoveryMs / 1000).toFixed(1)} s`} |`,
  );
  return [head, ...body].join("\n");
}

const TABLE_START = "<!-- fault-table:start -->";
const TABLE_END = "<!-- fault-table:end -->";

/**
 * docs/reliability.md after a run: only the part between the `fault-table` markers is replaced, so
 * the hand-kept prose around the table (fuzz, guessing, AOF) survives every run. A page without
 * both markers (or none at all) is written whole, as the table alone.
 */
export function renderReliabilityDoc(existing: string | undefined, table: string, runAt: string): string {
  const generated = `${TABLE_START}\nLast run: ${runAt}, \`npm run test:faults\`.\n\n${table}\n${TABLE_END}`;
  const start = existing?.indexOf(TABLE_START) ?? -1;
  const end = existing?.indexOf(TABLE_END) ?? -1;
  if (existing !== undefined && start >= 0 && end > start) {
    return existing.slice(0, start) + generated + existing.slice(end + TABLE_END.length);
  }
  return [
    "# Reliability: faults and what the service does",
    "",
    "Written by the last run of `npm run test:faults` (each row is one fault test, injected for real;",
    "see the test files named in the table). Do not edit between the markers by hand.",
    "",
    generated,
    "",
  ].join("\n");
}
