import { timestampDate } from "@bufbuild/protobuf/wkt";
import { CampaignState, type Campaign } from "../../src/gen/couponpb/coupon_pb.js";

/** "open", "sold out", … */
export function stateName(state: CampaignState): string {
  const name = CampaignState[state] ?? `state ${state}`;
  return name.toLowerCase().replace(/_/g, " ");
}

export function isoOf(c: Campaign, field: "startTime" | "endTime"): string {
  const ts = (c as Partial<Record<"startTime" | "endTime", Campaign["startTime"]>>)[field];
  return ts ? timestampDate(ts).toISOString() : "";
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** Left-aligned columns, two spaces apart; numbers right-aligned. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => /^-?\d+$/.test(r[i] ?? "")));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

const SPARKS = "▁▂▃▄▅▆▇█";

/** A sparkline of `values` scaled to their maximum. */
export function sparkline(values: readonly number[]): string {
  const max = Math.max(0, ...values);
  return values.map((v) => (max === 0 ? SPARKS[0] : SPARKS[Math.min(7, Math.round((v / max) * 7))])).join("");
}
