import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { CampaignState, type CouponService } from "../gen/couponpb/coupon_pb.js";
import { waitFor } from "../testing/harness.js";

/** Test helpers for the lifecycle suites: campaigns with an end, and bursts that record every answer. */

/**
 * Creates a campaign (optionally with an end instant, optionally split into `shards` sub-pools)
 * and waits until its pool is loaded.
 */
export async function createCampaign(
  client: Client<typeof CouponService>,
  opts: { total: number; startMs?: number; endMs?: number; shards?: number },
): Promise<bigint> {
  const { campaignId } = await client.createCampaign({
    name: "lifecycle",
    startTime: timestampFromMs(opts.startMs ?? Date.now()),
    ...(opts.endMs === undefined ? {} : { endTime: timestampFromMs(opts.endMs) }),
    totalCoupons: BigInt(opts.total),
    ...(opts.shards === undefined ? {} : { shards: opts.shards }),
  });
  await waitFor(
    `campaign ${campaignId} to load`,
    async () => {
      const c = (await client.getCampaign({ campaignId })).campaign;
      return c && c.state !== CampaignState.LOADING ? true : undefined;
    },
    120_000,
  );
  return campaignId;
}

/** One IssueCoupon call of a burst: when it was sent and what came back. */
export type Attempt = {
  userId: string;
  /** Local clock (the same system clock Redis's TIME reads on this machine), ms. */
  sentAt: number;
  ok?: { code: string; sequence: bigint };
  err?: { code: Code; message: string };
};

/**
 * Runs `workers` concurrent loops of IssueCoupon with distinct users until `stop()` says so. A
 * user whose call is refused for a passing reason (paused) asks again, so no user is skipped.
 * `onAttempt` sees every answer as it comes back.
 */
export async function burst(
  client: Client<typeof CouponService>,
  campaignId: bigint,
  opts: { workers: number; stop: (a: Attempt) => boolean; onAttempt?: (a: Attempt) => void | Promise<void> },
): Promise<Attempt[]> {
  const attempts: Attempt[] = [];
  let nextUser = 0;
  let done = false;
  const worker = async () => {
    let userId = `u-${nextUser++}`;
    while (!done) {
      const a: Attempt = { userId, sentAt: Date.now() };
      try {
        const r = await client.issueCoupon({ campaignId, userId });
        a.ok = { code: r.couponCode, sequence: r.sequence };
      } catch (err) {
        const e = ConnectError.from(err);
        a.err = { code: e.code, message: e.rawMessage };
      }
      attempts.push(a);
      await opts.onAttempt?.(a);
      if (opts.stop(a)) done = true;
      if (a.ok) userId = `u-${nextUser++}`;
    }
  };
  await Promise.all(Array.from({ length: opts.workers }, worker));
  return attempts;
}

/** The Connect code and message of a call that must fail. */
export async function failure(call: Promise<unknown>): Promise<{ code: Code; message: string }> {
  try {
    await call;
  } catch (err) {
    const e = ConnectError.from(err);
    return { code: e.code, message: e.rawMessage };
  }
  throw new Error("the call succeeded but was expected to fail");
}

export { usersHomedAt } from "../testing/sub-pools.js";
