import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";

/**
 * How many synchronous appends this disk takes per second: write a small record to a file in
 * `dir`, fdatasync it, repeat for `durationMs`. Redis with `appendfsync always` does the same
 * (write the AOF, fdatasync, then answer), so this rate bounds how many times per second it can
 * answer a batch of writes; the issues per fsync are how many calls each batch carried.
 */
export function fsyncsPerSecond(dir: string, durationMs = 1000): number {
  const path = join(dir, `fsync-probe-${process.pid}`);
  const fd = openSync(path, "a");
  const record = Buffer.alloc(128, "x");
  try {
    let n = 0;
    const t0 = performance.now();
    let elapsed = 0;
    while (elapsed < durationMs) {
      writeSync(fd, record);
      fdatasyncSync(fd);
      n++;
      elapsed = performance.now() - t0;
    }
    return Math.round(n / (elapsed / 1000));
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
}
