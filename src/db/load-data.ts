import { Readable } from "node:stream";
import type { ResultSetHeader } from "mysql2";
import type { Pool, PoolConnection } from "mysql2/promise";

/**
 * `LOAD DATA LOCAL INFILE … IGNORE` of tab-separated rows built in memory (mysql2's
 * infileStreamFactory; no file is read). MariaDB reads each field straight into its column instead
 * of parsing a multi-row INSERT as SQL: about a third less of its CPU per row for codes
 * (docs/benchmarks-creation.md) and for owners (docs/profile.md). A server with `local_infile` off
 * (MySQL 8's default) refuses it; `loadRowsOrInsert` then writes the same rows with a multi-row
 * INSERT IGNORE, with the same guarantees, and remembers the refusal for that pool.
 */

/**
 * "Local infile disabled" as MySQL 8 (3948), MariaDB 10.6+ (4166) and older servers (1148) say it,
 * whether the server's `local_infile` or the client's capability is off.
 */
const LOCAL_INFILE_REFUSED = new Set([3948, 4166, 1148]);
/** Pools whose server refused LOAD DATA LOCAL once. */
const refusingPools = new WeakSet<object>();

/**
 * Rows stored by `load` (a LOAD DATA LOCAL through `loadRows`), or by `insert` (the same rows as a
 * multi-row INSERT IGNORE) once `pool`'s server has refused LOAD DATA LOCAL: its refusal is
 * remembered, so that pool goes straight to `insert` from then on. A refused statement failed
 * alone: a transaction it ran in, and that transaction's locks, go on.
 */
export async function loadRowsOrInsert(pool: Pool, load: () => Promise<number>, insert: () => Promise<number>): Promise<number> {
  if (!refusingPools.has(pool)) {
    try {
      return await load();
    } catch (err) {
      if (!LOCAL_INFILE_REFUSED.has((err as { errno?: number } | null)?.errno ?? 0)) throw err;
      refusingPools.add(pool);
    }
  }
  return insert();
}

/**
 * Runs `LOAD DATA LOCAL INFILE '<name>' IGNORE INTO TABLE <into>` with `pieces` as the file; rows
 * stored (IGNORE skips a row whose key is taken, as INSERT IGNORE does). Each piece is one packet,
 * so pieces of ~64 KB keep well inside max_allowed_packet.
 */
export async function loadRows(on: Pool | PoolConnection, into: string, pieces: Iterable<Buffer>): Promise<number> {
  const [res] = (await on.query({
    sql: `LOAD DATA LOCAL INFILE 'rows.tsv' IGNORE INTO TABLE ${into}`,
    infileStreamFactory: () => Readable.from(pieces),
  })) as unknown as [ResultSetHeader];
  return res.affectedRows;
}

/** A string as one LOAD DATA field (the default `ESCAPED BY '\\'`): backslash, tab and newline escaped. */
export function tsvField(s: string): string {
  return /[\\\t\n]/.test(s) ? s.replace(/[\\\t\n]/g, (c) => (c === "\\" ? "\\\\" : c === "\t" ? "\\t" : "\\n")) : s;
}

/** SQL NULL as a LOAD DATA field. */
export const TSV_NULL = "\\N";
