import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { request } from "undici";

/** A port the kernel says is free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export type Child = { process: ChildProcess; url: string; stop: () => Promise<void> };

/**
 * Starts `node <script>` with `env` and waits until `readyPath` answers on `url` (any HTTP answer
 * counts), failing if the child exits first or `timeoutMs` passes. Its stderr goes to ours.
 */
export async function startNodeChild(script: string, env: Record<string, string>, url: string, readyPath: string, timeoutMs: number): Promise<Child> {
  const child = spawn(process.execPath, [script], { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "inherit"] });
  let exited: string | undefined;
  child.once("exit", (code, signal) => (exited = `exited with ${signal ?? code}`));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(`${script} ${exited} before answering`);
    try {
      const res = await request(`${url}${readyPath}`);
      await res.body.dump();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`${script} did not answer on ${url} within ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const force = setTimeout(() => child.kill("SIGKILL"), 30_000);
    await gone;
    clearTimeout(force);
  };
  return { process: child, url, stop };
}

/**
 * The production build of the service (`dist/src/main.js` under `root`) in a database and Redis
 * prefix of the bench's own, with the admin methods open: the bench creates its own campaigns
 * (an inherited key would lock it out). Waits until /healthz answers.
 */
export async function startBenchService(root: string, databaseUrl: string, redisUrl: string, prefix: string): Promise<Child> {
  const port = await freePort();
  const env = {
    PORT: String(port),
    HOST: "127.0.0.1",
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: "warn",
    ADMIN_API_KEY: "",
  };
  return startNodeChild(`${root}dist/src/main.js`, env, `http://127.0.0.1:${port}`, "/healthz", 120_000);
}
