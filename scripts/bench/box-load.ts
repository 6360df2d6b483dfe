import { readFileSync, readdirSync } from "node:fs";

/**
 * How busy the whole machine was while a figure was measured, and how much of that came from
 * processes outside the benchmark (someone else's build or tests share these cores). Linux only:
 * reads /proc; elsewhere every figure reads as unknown (null).
 */
type Ticks = { busy: number; total: number; tracked: number };

export type LoadShare = {
  /** Of all cores, in percent. */
  boxBusyPct: number;
  /** The part used by processes other than the tracked ones (generator, service, Redis, MariaDB). */
  foreignPct: number;
};

function boxTicks(): { busy: number; total: number } {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

function processTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const after = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(after[11]) + Number(after[12]);
  } catch {
    return 0; // the process is gone: it used nothing more
  }
}

/** Pids whose command name is one of `names` (e.g. redis-server, mariadbd). */
export function pidsNamed(names: readonly string[]): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (names.includes(readFileSync(`/proc/${entry}/comm`, "utf8").trim())) out.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/** `roots` and every process below them (the service's node:cluster workers). */
export function withDescendants(roots: readonly number[]): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // exited while we looked
    }
  }
  const out = new Set(roots);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, parent] of parentOf) {
      if (out.has(parent) && !out.has(pid)) {
        out.add(pid);
        grew = true;
      }
    }
  }
  return [...out];
}

function sample(pids: readonly number[]): Ticks {
  const box = boxTicks();
  return { ...box, tracked: pids.reduce((n, pid) => n + processTicks(pid), 0) };
}

function share(a: Ticks, b: Ticks): LoadShare {
  const total = b.total - a.total;
  if (total <= 0) return { boxBusyPct: 0, foreignPct: 0 };
  const busy = b.busy - a.busy;
  const foreign = Math.max(0, busy - (b.tracked - a.tracked));
  return { boxBusyPct: Math.round((busy / total) * 100), foreignPct: Math.round((foreign / total) * 100) };
}

/** A figure with the machine's load while it was taken. */
export type Measured<T> = { value: T; load: LoadShare | null; quietWaitMs: number; busyBeforePct: number | null };

/** Measures the load share over whatever runs between `start` and the returned `stop`. */
export function meterLoad(pids: () => number[]): () => LoadShare | null {
  if (process.platform !== "linux") return () => null;
  const tracked = pids();
  const before = sample(tracked);
  return () => share(before, sample(tracked));
}

/**
 * Waits until the machine is quiet (at most `maxBusyPct` busy over one second), so a figure is not
 * someone else's build. Gives up after `timeoutMs` and says how busy it was.
 */
export async function waitForQuiet(maxBusyPct: number, timeoutMs: number): Promise<{ waitedMs: number; busyPct: number | null }> {
  if (process.platform !== "linux") return { waitedMs: 0, busyPct: null };
  const t0 = Date.now();
  for (;;) {
    const a = sample([]);
    await new Promise((r) => setTimeout(r, 1000));
    const { boxBusyPct } = share(a, sample([]));
    if (boxBusyPct <= maxBusyPct || Date.now() - t0 > timeoutMs) return { waitedMs: Date.now() - t0, busyPct: boxBusyPct };
  }
}
