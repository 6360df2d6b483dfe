import { create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { invalidArgument } from "../errors.js";
import type { CampaignState, CampaignView } from "../campaigns/campaign-snapshot.js";
import type { IssueRow } from "../campaigns/repository.js";
import {
  CampaignSchema,
  CampaignState as PbState,
  IssuedCouponSchema,
  type Campaign,
  type IssuedCoupon,
} from "../gen/couponpb/coupon_pb.js";

const STATE: Record<CampaignState, PbState> = {
  loading: PbState.LOADING,
  scheduled: PbState.SCHEDULED,
  open: PbState.OPEN,
  sold_out: PbState.SOLD_OUT,
  paused: PbState.PAUSED,
  ended: PbState.ENDED,
  cancelled: PbState.CANCELLED,
};

/** A wire Timestamp as ms since the epoch; undefined when absent. Rejects out-of-range nanos. */
export function timestampToMs(ts: Timestamp | undefined, field: string): number | undefined {
  if (ts === undefined) return undefined;
  if (ts.nanos < 0 || ts.nanos > 999_999_999) throw invalidArgument(`${field}.nanos must be in [0, 999999999]`);
  const ms = timestampMs(ts);
  if (!Number.isFinite(ms)) throw invalidArgument(`${field} is out of range`);
  return ms;
}

export function toPbCampaign(v: CampaignView): Campaign {
  return create(CampaignSchema, {
    id: BigInt(v.id),
    name: v.name,
    startTime: timestampFromMs(v.startTime.getTime()),
    ...(v.endTime ? { endTime: timestampFromMs(v.endTime.getTime()) } : {}),
    totalCoupons: BigInt(v.totalCoupons),
    issued: BigInt(v.issued),
    remaining: BigInt(v.remaining),
    persisted: BigInt(v.persisted),
    loaded: BigInt(v.loaded),
    redeemed: BigInt(v.redeemed),
    voided: BigInt(v.voided),
    quarantined: BigInt(v.quarantined),
    state: STATE[v.state],
    shards: v.shards,
  });
}

export function toPbIssuedCoupon(r: IssueRow): IssuedCoupon {
  return create(IssuedCouponSchema, {
    code: r.code,
    userId: r.userId ?? "",
    issuedAt: timestampFromMs(r.issuedAt.getTime()),
    sequence: BigInt(r.sequence),
  });
}
