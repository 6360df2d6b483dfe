import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startChildService, type ChildService } from "../testing/child-service.js";
import { dropNamespace, TEST_MYSQL_URI, TEST_REDIS_URL, testConfig, testNamespace } from "../testing/harness.js";
import { MALLOC_MMAP_THRESHOLD_BYTES } from "./worker-env.js";

const ns = testNamespace();
let service: ChildService;
beforeAll(async () => {
  service = await startChildService({
    WORKERS: "2",
    DATABASE_URL: `${TEST_MYSQL_URI}/${ns.database}`,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: ns.prefix,
  });
});
afterAll(async () => {
  if (service) {
    service.kill("SIGTERM");
    await service.exited;
  }
  await dropNamespace(testConfig({}, ns));
});

/** The environment a running process was started with, from /proc. */
function environOf(pid: string): Map<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter(Boolean);
  return new Map(entries.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
}

describe("the workers of npm start", () => {
  it("are started with glibc's malloc threshold fixed, so freed large answers leave their memory", () => {
    const pid = String(service.process.pid);
    const workers = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").split(" ").filter(Boolean);
    expect(workers).toHaveLength(2);
    for (const w of workers) expect(environOf(w).get("MALLOC_MMAP_THRESHOLD_")).toBe(String(MALLOC_MMAP_THRESHOLD_BYTES));
  });
});
