import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import type { Command } from "commander";
import { CliError, contextOf } from "../context.js";
import { seconds, stateName } from "../format.js";
import { parseStart } from "../start-time.js";
import { createAndLoad, parseTotal, type NewCampaign } from "./create.js";

type Row = { name?: unknown; total?: unknown; start?: unknown };

/** Splits CSV text into rows of fields: commas, double-quoted fields with "" for a quote. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === "") quoted = true;
    else if (ch === ",") row.push(field), (field = "");
    else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(field), (field = "");
      if (row.some((f) => f !== "")) rows.push(row);
      row = [];
    } else field += ch;
  }
  row.push(field);
  if (row.some((f) => f !== "")) rows.push(row);
  return rows;
}

function rowsOfFile(file: string, text: string): Row[] {
  if (extname(file).toLowerCase() === ".csv") {
    const [header, ...rows] = parseCsv(text);
    const cols = (header ?? []).map((h) => h.trim().toLowerCase());
    for (const need of ["name", "total", "start"]) {
      if (!cols.includes(need)) throw new CliError(`${file} needs a header line naming the columns name,total,start.`);
    }
    return rows.map((r) => Object.fromEntries(cols.map((c, i) => [c, r[i] ?? ""])));
  }
  if (extname(file).toLowerCase() !== ".json") throw new CliError(`${file} must be a .json or a .csv file.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError(`${file} is not valid JSON.`);
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { campaigns?: unknown })?.campaigns;
  if (!Array.isArray(list)) throw new CliError(`${file} must hold an array of {"name", "total", "start"} objects.`);
  return list as Row[];
}

/** Every row checked before the first campaign is created: a bad row 7 creates nothing. */
export function campaignsOfFile(file: string, text: string, nowMs: number): NewCampaign[] {
  return rowsOfFile(file, text).map((r, i) => {
    const where = `${file} entry ${i + 1}`;
    if (typeof r.name !== "string" || r.name.trim() === "") throw new CliError(`${where} has no name.`);
    const total = parseTotal(String(r.total ?? ""), `${where}: total`);
    const startMs = parseStart(String(r.start ?? ""), nowMs, `${where}: start`);
    return { name: r.name, total, startMs };
  });
}

export function registerSeed(program: Command): void {
  program
    .command("seed")
    .description("create many campaigns from a file (.json: [{name, total, start}], .csv: name,total,start)")
    .requiredOption("--file <path>", "campaigns.json or campaigns.csv")
    .option("--no-wait", "do not wait for each pool to load before creating the next")
    .action(async (opts: { file: string; wait: boolean }, cmd: Command) => {
      const campaigns = campaignsOfFile(opts.file, await readFile(opts.file, "utf8"), Date.now());
      if (campaigns.length === 0) throw new CliError(`${opts.file} names no campaigns.`);
      const ctx = contextOf(cmd);
      for (const c of campaigns) {
        const r = await createAndLoad(ctx, c, { wait: opts.wait, bar: false });
        const loaded = r.state === undefined ? "" : `, loaded in ${seconds(r.ms)}, ${stateName(r.state)}`;
        process.stdout.write(
          `created campaign ${r.id} ${JSON.stringify(c.name)}: ${c.total} codes, start ${new Date(c.startMs).toISOString()}${loaded}\n`,
        );
      }
      process.stdout.write(`seeded ${campaigns.length} campaigns\n`);
    });
}
