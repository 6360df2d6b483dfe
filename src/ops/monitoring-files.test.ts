import { existsSync, readdirSync, readFileSync } from "node:fs";
import { parser } from "@prometheus-io/lezer-promql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { createLoadedCampaign, startTestService, stopTestService, type TestService } from "../testing/harness.js";

// The monitoring profile of docker/compose.yaml: Prometheus scraping the replicas, Grafana with a
// provisioned datasource and dashboard. No Docker engine here, so what is proven is what a broken
// dashboard would fail on first: files that do not parse, panels without a query, queries that are
// not PromQL, and metric names the service does not export (checked against a live /metrics).

const docker = new URL("../../docker/", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, docker), "utf8");

type Service = { image?: string; profiles?: string[]; volumes?: string[]; ports?: string[]; depends_on?: string[] | Record<string, unknown>; environment?: Record<string, string> };
const compose = parse(read("compose.yaml")) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const { prometheus, grafana, coupons } = compose.services;

type Target = { refId: string; expr?: string; datasource?: { type: string; uid: string } };
type Panel = { id: number; type: string; title: string; datasource?: { uid: string }; targets?: Target[]; panels?: Panel[] };
type Dashboard = { uid: string; title: string; panels: Panel[]; templating: { list: Array<{ name: string; query: { query: string } | string; datasource: { uid: string } }> } };

const dashboardFiles = readdirSync(new URL("grafana/dashboards/", docker)).filter((f) => f.endsWith(".json"));
const dashboards = dashboardFiles.map((f) => JSON.parse(read(`grafana/dashboards/${f}`)) as Dashboard);
/** Every panel with its place, rows' children included. */
const panels = dashboards.flatMap((d) => d.panels.flatMap((p) => (p.type === "row" ? (p.panels ?? []) : [p])));

/** `host:container[:ro]` of one service's volume list, host paths resolved against docker/. */
const mounts = (s: Service) =>
  (s.volumes ?? []).map((v) => {
    const [host, container] = v.split(":") as [string, string];
    return { host, container, bind: host.startsWith("./") };
  });
const mountedAt = (s: Service, container: string) => mounts(s).find((m) => m.container === container)?.host;

/** Grafana's variables, replaced by what they could stand for, so the query is plain PromQL. */
const withoutGrafanaVariables = (expr: string) =>
  expr.replace(/\$__(rate_)?interval|\$__range/g, "1m").replace(/\$\{?\w+\}?/g, "x");

/** Metric names a PromQL expression selects, or the syntax errors it has. */
function promql(expr: string): { metrics: string[]; errors: string[] } {
  const text = withoutGrafanaVariables(expr);
  const metrics: string[] = [];
  const errors: string[] = [];
  parser.parse(text).iterate({
    enter(node) {
      if (node.type.isError) errors.push(`at ${node.from}: ${JSON.stringify(text.slice(Math.max(0, node.from - 10), node.to + 10))}`);
      if (node.name === "Identifier" && node.node.parent?.name === "VectorSelector") metrics.push(text.slice(node.from, node.to));
    },
  });
  return { metrics, errors };
}

/** The family a sample name belongs to: histograms and summaries expose _bucket, _sum and _count. */
const family = (name: string) => name.replace(/_(bucket|sum|count)$/, "");

const queries = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr ?? "" })));
const variableQueries = dashboards.flatMap((d) =>
  d.templating.list.map((v) => ({ variable: v.name, query: typeof v.query === "string" ? v.query : v.query.query })),
);

describe("docker/compose.yaml monitoring profile", () => {
  it("adds Prometheus and Grafana under the monitoring profile only, each file it mounts present", () => {
    expect(prometheus!.profiles).toEqual(["monitoring"]);
    expect(grafana!.profiles).toEqual(["monitoring"]);
    expect(prometheus!.image).toMatch(/^prom\/prometheus:v\d+\.\d+\.\d+$/);
    expect(grafana!.image).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+$/);
    expect(prometheus!.ports).toEqual(["9090:9090"]);
    expect(grafana!.ports).toEqual(["3000:3000"]);
    for (const s of [prometheus!, grafana!]) {
      for (const m of mounts(s).filter((m) => m.bind)) expect(existsSync(new URL(m.host, docker)), m.host).toBe(true);
    }
    expect(mountedAt(prometheus!, "/etc/prometheus/prometheus.yml")).toBe("./prometheus/prometheus.yml");
    expect(mountedAt(prometheus!, "/prometheus")).toBe("prometheus-data");
    expect(Object.keys(compose.volumes)).toContain("prometheus-data");
  });

  it("scrapes /metrics of every replica of the service, on the port the service listens on", () => {
    const config = parse(read("prometheus/prometheus.yml")) as {
      global: { scrape_interval: string };
      scrape_configs: Array<{ job_name: string; metrics_path?: string; dns_sd_configs?: Array<{ names: string[]; type: string; port: number }> }>;
    };
    expect(config.scrape_configs.map((c) => c.job_name)).toEqual(["coupons"]);
    const [job] = config.scrape_configs;
    expect(job!.metrics_path ?? "/metrics").toBe("/metrics");
    // DNS discovery of the compose service name: one target per replica.
    expect(job!.dns_sd_configs).toEqual([expect.objectContaining({ names: ["coupons"], type: "A", port: 8080 })]);
    expect(compose.services[job!.dns_sd_configs![0]!.names[0]!]).toBe(coupons);
    expect(coupons!.ports).toEqual(["8080-8081:8080"]);
    expect(config.global.scrape_interval).toBe("5s");
  });

  it("provisions Grafana with the Prometheus datasource and a dashboard provider reading the mounted JSON", () => {
    const datasources = parse(read("grafana/provisioning/datasources/prometheus.yaml")) as {
      apiVersion: number;
      datasources: Array<{ uid: string; type: string; url: string; isDefault: boolean; jsonData: { timeInterval: string } }>;
    };
    expect(datasources.apiVersion).toBe(1);
    expect(datasources.datasources).toEqual([
      expect.objectContaining({ uid: "coupons-prometheus", type: "prometheus", url: "http://prometheus:9090", isDefault: true }),
    ]);
    // The datasource's scrape interval is Prometheus's, so $__rate_interval spans enough samples.
    const promConfig = parse(read("prometheus/prometheus.yml")) as { global: { scrape_interval: string } };
    expect(datasources.datasources[0]!.jsonData.timeInterval).toBe(promConfig.global.scrape_interval);

    const providers = parse(read("grafana/provisioning/dashboards/coupons.yaml")) as {
      apiVersion: number;
      providers: Array<{ type: string; options: { path: string } }>;
    };
    expect(providers.apiVersion).toBe(1);
    expect(providers.providers).toHaveLength(1);
    expect(providers.providers[0]!.type).toBe("file");
    expect(mountedAt(grafana!, providers.providers[0]!.options.path)).toBe("./grafana/dashboards");
    expect(mountedAt(grafana!, "/etc/grafana/provisioning/datasources")).toBe("./grafana/provisioning/datasources");
    expect(mountedAt(grafana!, "/etc/grafana/provisioning/dashboards")).toBe("./grafana/provisioning/dashboards");
    expect(grafana!.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(`${providers.providers[0]!.options.path}/coupon.json`);
  });
});

describe("docker/grafana/dashboards", () => {
  it("holds the coupon dashboard, every panel with a query on the provisioned datasource", () => {
    expect(dashboardFiles).toEqual(["coupon.json"]);
    expect(panels.length).toBeGreaterThanOrEqual(9);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const p of panels) {
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      expect(p.datasource?.uid, p.title).toBe("coupons-prometheus");
      for (const t of p.targets!) {
        expect(t.expr?.trim(), `${p.title} ${t.refId}`).toBeTruthy();
        expect(t.datasource?.uid, `${p.title} ${t.refId}`).toBe("coupons-prometheus");
      }
    }
  });

  it("queries in PromQL that parses", () => {
    const broken = queries.map((q) => ({ ...q, errors: promql(q.expr).errors })).filter((q) => q.errors.length > 0);
    expect(broken).toEqual([]);
    // The parser does find errors: a check that cannot fail proves nothing.
    expect(promql("sum(rate(coupon_issue_total[1m])").errors).not.toEqual([]);
  });

  it("shows what the operator of a flash campaign watches", () => {
    const byPanel = new Map(panels.map((p) => [p.title, (p.targets ?? []).flatMap((t) => promql(t.expr ?? "").metrics)]));
    const watched = (metric: string) => [...byPanel].filter(([, ms]) => ms.includes(metric)).map(([title]) => title);
    expect(watched("coupon_issue_total")).toEqual(["IssueCoupon answers by outcome"]);
    expect(watched("coupon_issue_duration_seconds_bucket")).toEqual(["IssueCoupon latency (p50, p99)"]);
    expect(queries.filter((q) => q.panel === "IssueCoupon latency (p50, p99)").map((q) => q.expr.match(/histogram_quantile\(([\d.]+)/)?.[1])).toEqual(["0.5", "0.99"]);
    expect(queries.find((q) => q.panel === "IssueCoupon answers by outcome")!.expr).toMatch(/by \(code\)/);
    expect(watched("coupon_pool_remaining")).toEqual(["Pool remaining per campaign"]);
    expect(queries.find((q) => q.panel === "Pool remaining per campaign")!.expr).toMatch(/by \(campaign_id\)/);
    expect(watched("coupon_campaign_persist_lag_entries")).toEqual(["Persist lag per campaign (owners not yet in MySQL)"]);
    expect(watched("coupon_campaign_persist_lag_oldest_seconds")).toEqual(["Persist lag per campaign (owners not yet in MySQL)"]);
    expect(watched("coupon_dependency_errors_total")).toEqual(["Redis and MySQL errors"]);
    expect(watched("nodejs_eventloop_lag_p99_seconds")).toEqual(["Event-loop lag (p99)"]);
    expect(watched("process_resident_memory_bytes")).toEqual(["Process memory"]);
    expect(watched("coupon_integrity_alarms_total")).toEqual(["Integrity alarms (in the time range)"]);
    expect(watched("coupon_persister_skipped_campaigns_total")).toEqual(["Redis and MySQL errors"]);
    expect(watched("coupon_instance_workers")).toEqual(["Worker processes"]);
  });

  describe("against a running service's /metrics", () => {
    let s: TestService;
    let exported: Set<string>;
    beforeAll(async () => {
      s = await startTestService();
      // One issued code, so the latency histogram and the pool gauge have samples.
      const { campaignId } = await createLoadedCampaign(s.json, { total: 5 });
      await s.json.issueCoupon({ campaignId, userId: "dashboard" });
      const body = await (await fetch(`${s.url}/metrics`)).text();
      exported = new Set([...body.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
      for (const [, name] of body.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/gm)) exported.add(family(name!));
    });
    afterAll(async () => {
      if (s) await stopTestService(s);
    });

    it("queries only metric names the service exports (after removing _bucket, _sum and _count)", () => {
      const names = new Set([
        ...queries.flatMap((q) => promql(q.expr).metrics),
        ...variableQueries.flatMap((v) => [...v.query.matchAll(/label_values\((\w+)/g)].map((m) => m[1]!)),
      ]);
      expect(names.size).toBeGreaterThanOrEqual(8);
      const missing = [...names].filter((n) => !exported.has(family(n)));
      expect(missing).toEqual([]);
    });
  });
});
