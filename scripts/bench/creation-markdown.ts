import type { Measured } from "./box-load.js";
import type { CreationFigures } from "./creation-figures.js";
import type { KeyMemory } from "./redis-memory.js";

const fmt = (n: number) => n.toLocaleString("en-US");
const load = (m: Measured<unknown>) => (m.load ? `${m.load.boxBusyPct} % / ${m.load.foreignPct} %` : "n/a");
const seconds = (ms: number | null, error?: string) => (ms === null ? `not loaded: ${error ?? "?"}` : `${(ms / 1000).toFixed(2)} s`);

/** CPU per code of the service, MariaDB and Redis over a run, in µs; "–" where a part did nothing. */
function cpuCells(m: Measured<unknown>, codes: number): string {
  const cpu = m.load?.cpuMs;
  return ["service", "mariadb", "redis"].map((g) => (cpu && (cpu[g] ?? 0) > 0 ? ((cpu[g]! * 1000) / codes).toFixed(1) : "–")).join(" | ");
}

function keyRow(name: string, k: KeyMemory): string {
  return `| ${name} | ${fmt(k.elements)} | ${fmt(k.bytes)} | ${k.bytesPerElement ?? "–"} | ${k.encoding ?? "–"} |`;
}

/** docs/benchmarks.md's creation section (issue 10, points 5 and 6); the why is in docs/benchmarks-creation.md. */
export function renderCreation(c: CreationFigures): string[] {
  const serviceRow = (label: string, m: Measured<{ coupons: number; ms: number | null; codesPerSecond: number | null; error?: string }>) =>
    `| ${label} | ${fmt(m.value.coupons)} | ${seconds(m.value.ms, m.value.error)} | ${m.value.codesPerSecond === null ? "–" : fmt(m.value.codesPerSecond)} | ${cpuCells(m, m.value.coupons)} | ${load(m)} |`;
  const referenceRow = (label: string, m: Measured<{ coupons: number; ms: number; codesPerSecond: number }>) =>
    `| ${label} | ${fmt(m.value.coupons)} | ${seconds(m.value.ms)} | ${fmt(m.value.codesPerSecond)} | ${cpuCells(m, m.value.coupons)} | ${load(m)} |`;
  const lines = [
    "## Campaign creation",
    "",
    "From CreateCampaign until the campaign leaves LOADING (every code generated, committed in MySQL and pushed to the",
    "Redis pool), polled through GetCampaign every 50 ms, against a bare `LOAD DATA LOCAL INFILE` of 1,000,000 codes of",
    "the same shape into a table `LIKE coupons` (primary key (campaign_id, seq), unique code) on the same server, first",
    "filled (untimed) with a copy of every row the service's table holds: in rounds, the reference, then at once the",
    "service's 1,000,000. CPU columns: per code, over the whole run (the reference's MariaDB figure includes its untimed",
    "copy of the service's rows). Why the figures are what they are:",
    "[benchmarks-creation.md](benchmarks-creation.md).",
    "",
    "| run | codes | time | codes/s | service µs/code | MariaDB µs/code | Redis µs/code | busy / foreign |",
    "|---|---|---|---|---|---|---|---|",
    serviceRow("service, warm-up", c.small),
    ...c.rounds.flatMap((r, i) => [
      referenceRow(`round ${i + 1}: bare LOAD DATA`, r.reference),
      serviceRow(`round ${i + 1}: service`, r.service),
    ]),
    "",
    c.ratio === null
      ? "- **Service ÷ bare LOAD DATA:** not measured (a 1,000,000-code pool did not load)."
      : `- **Service ÷ bare LOAD DATA: ${(c.ratio * 100).toFixed(0)} %**, the median of the rounds' ${c.rounds.map((r) => `${((r.ratio ?? 0) * 100).toFixed(0)} %`).join(", ")} (target ≥ 80 %: **${c.ratio >= 0.8 ? "met" : "not met"}**).`,
    "",
    "### 10,000,000 codes",
    "",
  ];
  const t = c.tenMillion;
  if (!t) {
    lines.push("Not taken in this run: `npm run bench -- --creation-10m` adds it (several minutes).");
  } else {
    lines.push(
      `${seconds(t.timing.ms, t.timing.error)} (${t.timing.codesPerSecond === null ? "–" : fmt(t.timing.codesPerSecond)} codes/s). Peak resident memory of the service's`,
      `processes during the load: **${fmt(t.peakRssMb)} MB** together, ${fmt(t.peakProcessRssMb)} MB the largest one. Meanwhile IssueCoupon on another`,
      `open campaign, offered at ${t.issue.ratePerSecond} calls/s (open loop, latency from each call's due instant): ${fmt(t.issue.calls)} calls,`,
      `${fmt(t.issue.issued)} issued, ${fmt(t.issue.failed)} failed; **p50 ${t.issue.p50Ms} ms, p99 ${t.issue.p99Ms} ms**, max ${t.issue.maxMs} ms.`,
    );
  }
  lines.push("", "### Redis memory per code", "");
  const m = c.memory;
  if (!m) {
    lines.push(`Not measured: ${c.memoryError ?? "?"}.`);
  } else {
    lines.push(
      "`MEMORY USAGE <key> SAMPLES 0` (every element counted) on the full 1,000,000-code pool, and on the users hash and",
      `stream of a campaign where ${fmt(m.issued)} named callers each got a code, served by a second service with the persister`,
      `off (with it on, each stream entry is deleted once its owner is in MySQL). Server \`list-max-listpack-size ${m.listpackSize}\`.`,
      "",
      "| key | elements | bytes | bytes per element | encoding |",
      "|---|---|---|---|---|",
      keyRow("pool (list)", m.pool),
      keyRow("users (hash)", m.users),
      keyRow("stream", m.stream),
      "",
      `- **Per pooled code: ${m.pool.bytesPerElement ?? "–"} B** (target ≤ 64 B).`,
      `- **Per issued code: ${m.bytesPerIssued} B** until its stream entry is persisted and deleted, ${m.bytesPerIssuedPersisted} B after (the users hash alone).`,
    );
  }
  lines.push("");
  return lines;
}
