import { readFileSync, readdirSync } from "node:fs";

/**
 * How busy the whole machine was while a figure was measured, how much of that went to processes
 * outside the benchmark (someone else's build or tests share these cores), and the CPU time of
 * each part of the bench (service, Redis, MariaDB, generator): CPU per call is the one figure
 * that does not depend on who else was using the machine. Linux only: reads /proc; elsewhere
 * every figure reads as unknown (null).
 */

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on every mainstream Linux). */
const TICKS_PER_SECOND = 100;

/** Named groups of pids whose CPU time is reported separately (e.g. service: its cluster workers). */
export type PidGroups = Record<string, number[]>;

export type LoadShare = {
  /** Of the whole machine (all cores), in percent. */
  boxBusyPct: number;
  /** The part of the whole machine used by processes in no group, in percent. */
  foreignPct: number;
  /** CPU time of each group over the span, in ms. */
  cpuMs: Record<string, number>;
};

type Sample = { busy: number; total: number; groups: Record<string, number> };

function boxTicks(): { busy: number; total: number } {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces), or undefined if gone. */
function statFields(pid: number | string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined; // exited while we looked
  }
}

function processTicks(pid: number): number {
  const f = statFields(pid);
  return f ? Number(f[11]) + Number(f[12]) : 0; // utime + stime; a process that is gone used nothing more
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
    const f = /^\d+$/.test(entry) ? statFields(entry) : undefined;
    if (f) parentOf.set(Number(entry), Number(f[1]));
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

function sample(groups: PidGroups): Sample {
  const ticks: Record<string, number> = {};
  for (const [name, pids] of Object.entries(groups)) ticks[name] = pids.reduce((n, pid) => n + processTicks(pid), 0);
  return { ...boxTicks(), groups: ticks };
}

function share(a: Sample, b: Sample): LoadShare {
  const total = b.total - a.total;
  const cpuMs: Record<string, number> = {};
  let tracked = 0;
  for (const name of Object.keys(b.groups)) {
    const used = b.groups[name]! - (a.groups[name] ?? 0);
    tracked += used;
    cpuMs[name] = (used * 1000) / TICKS_PER_SECOND;
  }
  if (total <= 0) return { boxBusyPct: 0, foreignPct: 0, cpuMs };
  const busy = b.busy - a.busy;
  return { boxBusyPct: Math.round((busy / total) * 100), foreignPct: Math.round((Math.max(0, busy - tracked) / total) * 100), cpuMs };
}

/** Starts metering the machine and the groups (resolved now); the returned function stops it. */
export function meterLoad(groups: () => PidGroups): () => LoadShare | null {
  if (process.platform !== "linux") return () => null;
  const resolved = groups();
  const before = sample(resolved);
  return () => share(before, sample(resolved));
}

/**
 * Waits until the machine is quiet (at most `maxBusyPct` busy over one second), so a figure is not
 * someone else's build. Gives up after `timeoutMs` and says how busy it was.
 */
export async function waitForQuiet(maxBusyPct: number, timeoutMs: number): Promise<{ waitedMs: number; busyPct: number | null }> {
  if (process.platform !== "linux") return { waitedMs: 0, busyPct: null };
  const t0 = Date.now();
  for (;;) {
    const a = sample({});
    await new Promise((r) => setTimeout(r, 1000));
    const { boxBusyPct } = share(a, sample({}));
    if (boxBusyPct <= maxBusyPct || Date.now() - t0 > timeoutMs) return { waitedMs: Date.now() - t0, busyPct: boxBusyPct };
  }
}

/** A figure with the machine's load while it was taken: over the whole run, and over its load phase alone. */
export type Measured<T> = {
  value: T;
  load: LoadShare | null;
  /** From the opening to the last answer (no campaign loading, no verification); the whole run when it has no phases. */
  loadPhase: LoadShare | null;
  quietWaitMs: number;
  busyBeforePct: number | null;
};

/**
 * The process groups of a bench run, resolved when called (a service's workers exist only once
 * it has started): the service with its workers, Redis, MariaDB, this generator, the bare server.
 */
export function benchPids(servicePid: number, barePid = 0): PidGroups {
  return {
    service: withDescendants([servicePid]),
    redis: pidsNamed(["redis-server"]),
    mariadb: pidsNamed(["mariadbd"]),
    generator: [process.pid],
    bare: barePid ? [barePid] : [],
  };
}
