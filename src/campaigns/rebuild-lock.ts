import type { PoolConnection } from "mysql2/promise";
import type { Db } from "../db/client.js";
import { failedPrecondition, unavailable } from "../errors.js";

/**
 * The lock that lets one rebuild of a campaign run at a time, across every instance: MySQL's
 * `GET_LOCK`, held on one dedicated connection for the whole rebuild. A named lock belongs to
 * the connection that took it, so it cannot be taken through the pool (a second rebuild in the
 * same process could get the same pooled connection and the lock "again", and a release could
 * run on another connection and leave it held). If that connection is lost, the lock went with
 * it: `assertHeld` stops the rebuild before its next write.
 */
export class RebuildLock {
  private constructor(
    private readonly conn: PoolConnection,
    private readonly name: string,
    private readonly campaignId: number,
  ) {}

  /** Takes the lock without waiting; refuses with a clear error when another rebuild holds it. */
  static async take(db: Db, campaignId: number): Promise<RebuildLock> {
    const conn = await db.$client.getConnection();
    const name = `coupons_rebuild_${campaignId}`;
    try {
      const [rows] = (await conn.query("SELECT GET_LOCK(?, 0) AS got", [name])) as unknown as [Array<{ got: number | null }>];
      if (rows[0]?.got !== 1) throw failedPrecondition(`another rebuild of campaign ${campaignId} is running; wait for it to finish`);
    } catch (err) {
      conn.release();
      throw err;
    }
    return new RebuildLock(conn, name, campaignId);
  }

  /** Throws unless this connection still holds the lock: call it before every write. */
  async assertHeld(): Promise<void> {
    let held = false;
    try {
      const [rows] = (await this.conn.query("SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS held", [this.name])) as unknown as [
        Array<{ held: number | null }>,
      ];
      held = rows[0]?.held === 1;
    } catch (err) {
      throw unavailable(`lost the rebuild lock of campaign ${this.campaignId} (its MySQL connection failed); rebuild again`, err);
    }
    if (!held) throw unavailable(`lost the rebuild lock of campaign ${this.campaignId}; rebuild again`);
  }

  /** Releases the lock on the connection that holds it; a broken connection is thrown away. */
  async release(): Promise<void> {
    try {
      await this.conn.query("SELECT RELEASE_LOCK(?)", [this.name]);
      this.conn.release();
    } catch {
      this.conn.destroy(); // the lock went with the connection
    }
  }
}
