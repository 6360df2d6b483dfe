import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { renderFaultTable, renderReliabilityDoc, type FaultRow } from "./fault-report.js";

const row: FaultRow = { fault: "Redis cut", behaviour: "answers unavailable", calls: 10, issued: 9, duplicates: 0, lostOwners: 0, recoveryMs: 1500 };
const table = renderFaultTable([row]);

describe("docs/reliability.md as the fault suite rewrites it", () => {
  it("replaces only the table between the markers and keeps the prose around it", () => {
    const before = "# Reliability\n\nintro\n\n<!-- fault-table:start -->\nold rows\n<!-- fault-table:end -->\n\n## Wire fuzz\n\nprose\n";
    const after = renderReliabilityDoc(before, table, "2026-12-02T16:00:00.000Z");
    expect(after).toBe(
      "# Reliability\n\nintro\n\n<!-- fault-table:start -->\nLast run: 2026-12-02T16:00:00.000Z, `npm run test:faults`.\n\n" +
        "| fault | what the service does | calls | codes issued | duplicates | lost owners | recovery |\n| --- | --- | --- | --- | --- | --- | --- |\n" +
        "| Redis cut | answers unavailable | 10 | 9 | 0 | 0 | 1.5 s |\n<!-- fault-table:end -->\n\n## Wire fuzz\n\nprose\n",
    );
    // A second run replaces its own output, not more.
    expect(renderReliabilityDoc(after, table, "2026-12-02T16:00:00.000Z")).toBe(after);
  });

  it("writes a whole page when there is none or it lost its markers", () => {
    for (const existing of [undefined, "# hand-written, no markers\n"]) {
      const doc = renderReliabilityDoc(existing, table, "2026-12-02T16:00:00.000Z");
      expect(doc.startsWith("# Reliability")).toBe(true);
      expect(doc).toContain("| Redis cut | answers unavailable |");
      expect(doc).not.toContain("hand-written");
    }
  });

  it("the published page carries the markers, so its prose survives the next run", () => {
    const published = readFileSync(new URL("../../docs/reliability.md", import.meta.url), "utf8");
    expect(published.indexOf("<!-- fault-table:start -->")).toBeGreaterThan(0);
    expect(published.indexOf("<!-- fault-table:end -->")).toBeGreaterThan(published.indexOf("<!-- fault-table:start -->"));
    expect(published).toContain("## Bad input, guessing and Redis restarts");
  });
});
