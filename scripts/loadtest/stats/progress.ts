import type { CallLog } from "./call-log.js";

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/** One progress line: seconds since the load began, calls, successes, failures by code, last second's rate. */
export function progressLine(log: CallLog, elapsedS: number, rate: number): string {
  const failures = [...log.failures].map(([code, n]) => `${code} ${fmt(n)}`).join(", ");
  return `[${String(elapsedS).padStart(4)} s] calls ${fmt(log.calls)}  ok ${fmt(log.successes)}  failed ${failures || "0"}  rate ${fmt(rate)}/s  in flight ${log.inFlight}`;
}

/** Prints a progress line every second once calls are flowing; returns a function that stops it. */
export function startProgress(log: CallLog, print: (line: string) => void): () => void {
  let loadStartedAt: number | undefined;
  let lastCalls = 0;
  let lastAt = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const rate = ((log.calls - lastCalls) * 1000) / (now - lastAt);
    lastCalls = log.calls;
    lastAt = now;
    // Nothing to say while the campaigns load and the opening is awaited.
    if (log.calls === 0 && log.inFlight === 0) return;
    loadStartedAt ??= now - 1000;
    print(progressLine(log, Math.round((now - loadStartedAt) / 1000), rate));
  }, 1000);
  timer.unref();
  return () => clearInterval(timer);
}
