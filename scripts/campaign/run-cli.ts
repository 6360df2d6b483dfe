import { execFile } from "node:child_process";

/** What one run of the admin CLI printed and how it exited. */
export type CliRun = { code: number; stdout: string; stderr: string };

/** Runs `scripts/campaign/cli.ts` as a child process against `url`, for tests. */
export function runCli(url: string, args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "scripts/campaign/cli.ts", ...args],
      { env: { ...process.env, COUPON_URL: url, ...env }, timeout: 120_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
