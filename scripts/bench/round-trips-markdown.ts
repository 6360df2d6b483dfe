import type { RoundTripFigures, RoundTripPhase, RoundTripRun } from "./round-trips.js";

const fmt = (n: number) => n.toLocaleString("en-US");
/** Round trips per call: three decimals, so a few re-checks over 20,000 calls still show. */
const per = (f: RoundTripPhase) => `**${f.perCall.toFixed(3)}** (${fmt(f.scripts)} ÷ ${fmt(f.calls)})`;

const PHASES: ReadonlyArray<{ label: string; of: (r: RoundTripRun) => RoundTripPhase; expected: string }> = [
  { label: "(a) per issue, a burst that sells the campaign out, skewed named callers", of: (r) => r.burst, expected: "1 · a little above 1" },
  { label: "(b) per refusal after the sell-out, anonymous callers", of: (r) => r.anonymous, expected: "≈ 0 · ≈ 0" },
  { label: "(c) per refusal after the sell-out, named callers who never got a code", of: (r) => r.named, expected: "≈ 0 · ≈ 0" },
  { label: "(d) per call, a holder asking again after the sell-out (gets the code back)", of: (r) => r.holders, expected: "1 · ≈ 1" },
];

/**
 * docs/benchmarks.md's section on Redis round trips per IssueCoupon with one pool and with 8
 * sub-pools (./round-trips.ts). `source`: how the figures were taken when not by this run of
 * `npm run bench` (the phase run alone and pasted in).
 */
export function renderRoundTrips(f: RoundTripFigures, source?: string): string[] {
  const ks = f.runs.map((r) => r.shards);
  const hot = `${f.hot[0]}–${f.hot[f.hot.length - 1]}`;
  return [
    "## Sub-pools: Redis round trips per IssueCoupon",
    "",
    ...(source ? [source, ""] : []),
    `One service (npm start's defaults, ${f.workers}) on a private redis-server ${f.redis} started for this section (AOF off)`,
    "that nothing else uses, so its own counters count this section's calls alone: round trips = the EVALSHA and EVAL calls",
    "of INFO commandstats during a phase ÷ the IssueCoupon calls of that phase (each issue script call is one EVALSHA, one",
    `round trip; nothing else sends scripts meanwhile). For each K (${ks.join(" and ")}), a campaign of ${fmt(f.coupons)} codes; (a) ${fmt(f.coupons)}`,
    `named callers, one call each, ${Math.round(f.hotShare * 100)} % of them at home in sub-pools ${hot} of 8 (the service's routing hash), over`,
    `${f.connections} connections: exactly as many callers as codes, so every call issues and the last sells out; then ${fmt(f.refusalCalls)} calls of`,
    "each kind (b)–(d); (d) asks for every other holder in the burst's order, so it includes those served late, away from",
    "home. A call refused by what the instance remembers costs no round trip; HSCAN pages, read once per instance to build",
    "its holders filters (the bulk connection, off the hot path), are counted apart.",
    "",
    `| phase | ${ks.map((k) => `K = ${k}`).join(" | ")} | expected (${ks.map((k) => `K = ${k}`).join(" · ")}) |`,
    `|---|${ks.map(() => "---|").join("")}---|`,
    ...PHASES.map((p) => `| ${p.label} | ${f.runs.map((r) => per(p.of(r))).join(" | ")} | ${p.expected} |`),
    `| HSCAN pages in (a)–(d) | ${f.runs.map((r) => fmt(r.burst.hscans + r.anonymous.hscans + r.named.hscans + r.holders.hscans)).join(" | ")} | – |`,
    "",
    ...notes(f),
    "",
    f.violations.length === 0
      ? "Every burst call issued a distinct code, every refusal was sold out, every holder got its own code back."
      : `**Wrong answers:** ${f.violations.join("; ")}.`,
    "",
  ];
}

/** What the table says, one line per finding, from this run's figures. */
function notes(f: RoundTripFigures): string[] {
  const one = f.runs.find((r) => r.shards === 1);
  const split = f.runs.filter((r) => r.shards > 1);
  const lines = split.map((r) => {
    const extra = Math.round((r.burst.perCall - 1) * 1000) / 10;
    return (
      `- **Per issue, K = ${r.shards}: ${r.burst.perCall.toFixed(3)}**${one ? ` against ${one.burst.perCall.toFixed(3)} for one pool` : ""}: the ${extra} % more are calls` +
      " that met a sub-pool that was already empty before their instance knew it (an instance learns that from a refused script call and trusts it for a second)."
    );
  });
  for (const r of split) {
    lines.push(`- (d), K = ${r.shards}: ${fmt(r.holdersWalked)} of the ${fmt(r.holders.calls)} holders asking again had got their code from a sub-pool other than their home one.`);
  }
  lines.push(
    "- **After the sell-out** the round trips left are the calls in flight before the instance knew (up to one per connection), one",
    "  re-check per instance per second (a remembered refusal is trusted for a second), and for named callers the holders filter's false",
    "  positives (about 1 %: a named caller of a campaign of K sub-pools is looked up in the filter of each one, so each is sized for 1/K of that).",
    "- **A holder asking again** costs one round trip, the one that gets the code back: the walk passes over the sub-pools whose",
    "  filters rule the holder out and asks the one that holds the code; a false positive on a sub-pool passed over costs one more.",
  );
  return lines;
}
