import { describe, expect, it } from "vitest";
import { closedRun, exampleIssueFigures } from "./issue-figures-example.js";
import { renderIssueFigures } from "./issue-markdown.js";

const render = (f = exampleIssueFigures()) => renderIssueFigures(f).join("\n");

describe("the IssueCoupon sections of docs/benchmarks.md", () => {
  it("gives each throughput median with its rounds and its ratio to the bare server, and judges the targets", () => {
    const md = render();
    expect(md).toContain("| bare node:http | **20,000** | 20,000 · 21,000 · 19,000 | 1.00× | 4.00 | 30.0 | – | 100 % / 4 % |");
    expect(md).toContain("| service, npm start's defaults (persister on) | **8,000** | 8,000 · 9,000 · 7,000 | 0.40× | 11.0 | 90.0 | 300 ms · 400 ms · 350 ms | 100 % / 4 % |");
    expect(md).toContain("- **Service ÷ bare: 0.40×** (target ≥ 0.6×: **not met**).");
    expect(md).toContain("- **Persister cost: 6 %** of PERSISTER=off's throughput (target ≤ 15 %: met).");
    expect(md).toContain("every owner was there, 40,000 rows (median)");
  });

  it("says when the persister did not keep up", () => {
    const f = exampleIssueFigures();
    f.throughput.on[1] = closedRun(9_000, 11, 90, { persistLagMs: null, issued: 40_000, persisted: 39_000 });
    const md = render(f);
    expect(md).toContain("**not every owner was there**");
    expect(md).toContain("300 ms · not drained · 350 ms");
  });

  it("judges open-loop latency against 2× the bare p99 once the bare server's own p99 exceeds 5 ms, else against 10 ms", () => {
    expect(render()).toContain("2× that, 14.0 ms: service p99 13.0 ms, met; p50 ≤ 2 ms: 1.80 ms, met.");
    const f = exampleIssueFigures();
    f.latency.bare = f.latency.bare.map((r) => ({ ...r, latencyMs: { ...r.latencyMs, p99: 3 } }));
    expect(render(f)).toContain("p99 ≤ 10 ms: 13.0 ms, **not met**; p50 ≤ 2 ms: 1.80 ms, met.");
  });

  it("gives every kind of refusal as a ratio to the bare server, and the holders' rate beside them", () => {
    const md = render();
    expect(md).toContain("| after the sell-out, named callers who never got a code | **15,000** | 15,000 | 0.75× | 3.00 | 20.0 | ≥ 0.8×: **not met** | 100 % / 4 % |");
    expect(md).toContain("| after the sell-out, holders asking again (get their code back) | **10,000** | 10,000 | 0.50× | 8.00 | 40.0 | measured | 100 % / 4 % |");
    expect(md).toContain("- **Refusals ÷ bare: 0.85×, 0.75×, 0.95×, 0.90×** (target ≥ 0.8× each: **not met**).");
  });

  it("gives the burst's persist lag with what MySQL held, and the persister's CPU per issue and drain rate", () => {
    const md = render();
    expect(md).toContain("**Persist lag: 800 ms**");
    expect(md).toContain("(target ≤ 1 s: met)");
    expect(md).toContain("MySQL then held 100,000 owners, 100,000 distinct codes, 100,000 distinct users; GetCampaign read 100,000 issued, sold out.");
    expect(md).toContain("**The persister's CPU per persisted issue: 70 µs** (its own processes 40 µs, MariaDB 20 µs, Redis 10 µs)");
    expect(md).toContain("It wrote **25,000 issues/s**, 3.13× the service's maximum issue rate (8,000/s)");
  });

  it("prices appendfsync always and, where it costs more than half, names the fsyncs that bound it", () => {
    const md = render();
    expect(md).toContain("- **appendfsync always ÷ the machine's Redis: 0.25×** (2,000 against 8,000 calls/s); ÷ bare: 0.10×.");
    expect(md).toContain("This disk takes **900 fsyncs/s** on its own");
    expect(md).toContain("During the runs Redis did **500 fsyncs/s, ≈ 4.0 issues per fsync**");
    expect(md).toContain("It costs more than half.");
    const cheap = exampleIssueFigures();
    cheap.throughput.always = cheap.throughput.on;
    expect(render(cheap)).not.toContain("It costs more than half.");
    const none = exampleIssueFigures();
    none.durability = { skipped: "redis-server is not installed here" };
    none.throughput.always = null;
    expect(render(none)).toContain("Not measured: redis-server is not installed here.");
  });

  it("opens with every target, this run's figure and its verdict", () => {
    const md = render();
    expect(md).toContain("| 1 | IssueCoupon, npm start's defaults ÷ bare ≥ 0.6× | 0.40× (8,000 ÷ 20,000 calls/s) | **not met** |");
    expect(md).toContain("| 2 | p99 ≤ 2× bare's p99 (bare's own exceeds 5 ms) at half the maximum, open loop | 13.0 ms (bare 7.00 ms, target 14.0 ms) at 4,000 calls/s | met |");
    expect(md).toContain("| 3 | refusals ≥ 0.8× bare: sold out anonymous · named · not started anonymous · named | 0.85× · 0.75× · 0.95× · 0.90× | **not met** |");
    expect(md).toContain("| 4 | persist lag ≤ 1 s after a 100,000-coupon burst | 800 ms | met |");
    expect(md).toContain("| 4 | the persister's CPU per persisted issue (printed) | 70 µs; it drains 25,000 issues/s (3.13× the maximum issue rate) | – |");
  });

  it("names the generators and lists violations when a run had any", () => {
    const f = exampleIssueFigures();
    expect(render(f)).toContain("wrk 20,000 calls/s at 15 µs of its own CPU per call");
    expect(render(f)).not.toContain("### Violations");
    f.violations = ["burst: 99,999 issued"];
    expect(render(f)).toContain("### Violations\n\n- burst: 99,999 issued");
  });
});
