import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CONFIG_KEYS, loadConfig } from "../config.js";
import { startTestService, stopTestService, type TestService } from "../testing/harness.js";

// No Docker engine on these machines: what can be checked without one is checked here — the
// compose file against the code it runs, the Dockerfile's commands against package.json, and the
// image's HEALTHCHECK command run for real against a live service.

const root = new URL("../../", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), "utf8");

type Service = {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  profiles?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  deploy?: { replicas?: number };
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
};
const compose = parse(read("docker/compose.yaml")) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const { mysql, redis, coupons, admin, k6 } = compose.services;

/** `${NAME:-default}` as compose substitutes it with NAME unset. */
const substituted = (env: Record<string, string>) =>
  Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, "$1")]));

/** Instructions of the Dockerfile's last stage, continuation lines joined. */
const dockerfile = read("docker/Dockerfile").replace(/\\\n\s*/g, "");
const stages = dockerfile.split(/^FROM /m).slice(1);
const finalStage = stages[stages.length - 1]!;
const instruction = (stage: string, name: string) =>
  stage.split("\n").find((l) => l.startsWith(`${name} `))?.slice(name.length + 1);

describe("docker/compose.yaml", () => {
  it("runs MySQL with a volume, Redis with an fsync-always AOF, two service replicas, an admin, a k6 and a monitoring profile", () => {
    expect(Object.keys(compose.services).sort()).toEqual(["admin", "coupons", "grafana", "k6", "mysql", "prometheus", "redis"]);
    expect(mysql!.image).toMatch(/^(mysql:8|mariadb:11)/);
    expect(mysql!.volumes).toContain("mysql-data:/var/lib/mysql");
    expect(redis!.image).toMatch(/^redis:7/);
    expect(redis!.command!.join(" ")).toContain("--appendonly yes --appendfsync always --maxmemory-policy noeviction");
    expect(redis!.volumes).toContain("redis-data:/data");
    expect(Object.keys(compose.volumes)).toEqual(["mysql-data", "redis-data", "prometheus-data"]);
    expect(coupons!.build).toEqual({ context: "..", dockerfile: "docker/Dockerfile" });
    expect(coupons!.deploy!.replicas).toBe(2);
    expect(coupons!.depends_on).toEqual({ mysql: { condition: "service_healthy" }, redis: { condition: "service_healthy" } });
    expect(mysql!.healthcheck!.test[0]).toBe("CMD");
    expect(redis!.healthcheck!.test).toEqual(["CMD", "redis-cli", "ping"]);
    expect(admin!.profiles).toEqual(["admin"]);
    expect(k6!.profiles).toEqual(["k6"]);
  });

  it("gives the service only settings it reads, and ones it accepts", () => {
    const env = coupons!.environment!;
    for (const key of Object.keys(env)) expect(CONFIG_KEYS, key).toContain(key);
    const config = loadConfig(substituted(env));
    expect(config.ADMIN_API_KEY).toBeUndefined();
    expect(new URL(config.DATABASE_URL).hostname).toBe("mysql");
    expect(new URL(config.REDIS_URL).hostname).toBe("redis");
    // The container gets longer to stop than the service takes at most.
    expect(Number.parseInt(coupons!.stop_grace_period!, 10) * 1000).toBeGreaterThan(config.SHUTDOWN_TIMEOUT_MS);
  });

  it("points the admin CLI and k6 at the service, with the variables they read", () => {
    expect(admin!.image).toBe(coupons!.image);
    expect(admin!.entrypoint).toEqual(["node", "dist/scripts/campaign/cli.js"]);
    expect(existsSync(new URL("scripts/campaign/cli.ts", root))).toBe(true);
    const cliSource = read("scripts/campaign/context.ts");
    for (const key of Object.keys(admin!.environment!)) expect(cliSource).toContain(`process.env.${key}`);
    expect(admin!.environment!.COUPON_URL).toBe("http://coupons:8080");

    expect(k6!.volumes).toEqual(["../k6:/k6:ro"]);
    expect(k6!.command).toEqual(["run", "-e", "BASE_URL=http://coupons:8080", "/k6/seed.js"]);
    expect(existsSync(new URL("k6/seed.js", root))).toBe(true);
    expect(read("k6/lib/connect.js")).toContain("__ENV.BASE_URL");
  });
});

describe("docker/Dockerfile", () => {
  it("builds in stages on Node 20 slim and ships production dependencies only, as a non-root user", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.split("\n")[0]).toMatch(/^node:20-slim( AS [a-z-]+)?$/);
    expect(dockerfile).toContain("npm ci --omit=dev");
    expect(instruction(finalStage, "USER")).toBe("node");
    expect(finalStage).not.toMatch(/^RUN npm ci(?! --omit=dev)/m);
    const ignored = read(".dockerignore").split("\n");
    for (const p of [".git", "node_modules", "dist"]) expect(ignored).toContain(p);
  });

  it("starts the service with the same command as npm start", () => {
    const start = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts.start!;
    const run = start.split("&&").map((s) => s.trim());
    expect(run[0]).toBe("npm run build");
    expect(JSON.parse(instruction(finalStage, "CMD")!)).toEqual(run[run.length - 1]!.split(" "));
    expect(dockerfile).toMatch(/^RUN npm run build$/m);
  });

  describe("HEALTHCHECK", () => {
    let s: TestService;
    beforeAll(async () => {
      s = await startTestService({ PERSISTER: "off" });
    });
    afterAll(async () => {
      if (s) await stopTestService(s);
    });

    const probe = (port: number) =>
      new Promise<number>((resolve) => {
        const cmd = JSON.parse(instruction(finalStage, "HEALTHCHECK")!.replace(/^.*?CMD /, "")) as string[];
        execFile(cmd[0] === "node" ? process.execPath : cmd[0]!, cmd.slice(1), { env: { ...process.env, PORT: String(port) } }, (err) =>
          resolve(err ? ((err as { code?: number }).code ?? 1) : 0),
        );
      });

    it("probes /healthz: healthy while the service answers, unhealthy when nothing does", async () => {
      expect(instruction(finalStage, "HEALTHCHECK")).toContain("/healthz");
      expect(await probe(Number(new URL(s.url).port))).toBe(0);
      expect(await probe(9)).toBe(1);
    });
  });
});
