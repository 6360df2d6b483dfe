import { Readable } from "node:stream";
import type { ResultSetHeader } from "mysql2";
import type { Pool, PoolConnection } from "mysql2/promise";

/**
 * `LOAD DATA LOCAL INFILE … IGNORE` of tab-separated rows built in memory (mysql2's
 * infileStreamFactory; no file is read). MariaDB reads each field straight into its column instead
 * of parsing a multi-row INSERT as SQL: about a third less of its CPU per row for codes
 * (docs/benchmarks-creation.md) and for owners (docs/profile.md). A server with `local_infile` off
 * (MySQL 8's default) refuses it; callers then write the same rows with a multi-row INSERT IGNORE,
 * with the same guarantees, and `refusesLocalInfile` remembers it for that pool.
 */

/**
 * "Local infile disabled" as MySQL 8 (3948), MariaDB 10.6+ (4166) and older servers (1148) say it,
 * whether the server's `local_infile` or the client's capability is off.
 */
const LOCAL_INFILE_REFUSED = new Set([3948, 4166, 1148]);
/** Pools whose server refused LOAD DATA LOCAL once. */
const refusingPools = new WeakSet<object>();

/** True once `pool`'s server has refused LOAD DATA LOCAL: use multi-row INSERTs. */
export function refusesLocalInfile(pool: Pool): boolean {
  return refusingPools.has(pool);
}

/** True for the server's refusal of LOAD DATA LOCAL, which it then also records for `pool`. */
export function isLocalInfileRefusal(pool: Pool, err: unknown): boolean {
  if (!LOCAL_INFILE_REFUSED.has((err as { errno?: number } | null)?.errno ?? 0)) return false;
  refusingPools.add(pool);
  return true;
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
