// Summarises a .cpuprofile: self time by package and by function, over the 200 ms slices in which
// the process was busy (at most MAXIDLE idle, default 0.3), so start-up and idle tails are left out.
import { readFileSync } from "node:fs";
const p = JSON.parse(readFileSync(process.argv[2], "utf8"));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = p.timeDeltas; let total = 0;
const counts = new Map();
// keep only 200 ms buckets where the process was mostly busy (the load window)
const idleId = new Set(p.nodes.filter((n) => n.callFrame.functionName === "(idle)").map((n) => n.id));
const buckets = []; let t = 0;
for (let i = 0; i < p.samples.length; i++) { t += dt[i] ?? 0; const b = Math.floor(t / 200000); (buckets[b] ??= { idle: 0, all: 0, idx: [] }); buckets[b].all += dt[i] ?? 0; if (idleId.has(p.samples[i])) buckets[b].idle += dt[i] ?? 0; buckets[b].idx.push(i); }
for (const b of buckets) { if (!b || b.idle / b.all > (Number(process.env.MAXIDLE ?? 0.3))) continue; for (const i of b.idx) { counts.set(p.samples[i], (counts.get(p.samples[i]) ?? 0) + (dt[i] ?? 0)); total += dt[i] ?? 0; } }
const fn = new Map(), pkg = new Map();
for (const [id, t] of counts) {
  const n = byId.get(id); const cf = n.callFrame;
  const url = cf.url || "(native)";
  const m = url.match(/node_modules\/((@[^/]+\/)?[^/]+)/);
  const group = m ? m[1] : url.includes("/dist/") ? "service:" + url.split("/dist/")[1] : url.startsWith("node:") ? url : cf.functionName.startsWith("(") ? cf.functionName : "(native/other)";
  pkg.set(group, (pkg.get(group) ?? 0) + t);
  const key = `${cf.functionName || "(anon)"} ${url.split("/").slice(-2).join("/")}:${cf.lineNumber}`;
  fn.set(key, (fn.get(key) ?? 0) + t);
}
const show = (m, k) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([n, t]) => `${(100 * t / total).toFixed(1).padStart(5)}%  ${n}`).join("\n");
console.log("total ms", (total / 1000).toFixed(0)); console.log(show(pkg, 25)); console.log("---"); console.log(show(fn, 40));
