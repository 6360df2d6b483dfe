import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { CampaignView } from "../campaigns/campaign-snapshot.js";
import { validateCampaignId } from "../campaigns/validation.js";
import type { Deps } from "../deps.js";
import {
  CancelCampaignResponseSchema,
  PauseCampaignResponseSchema,
  RedeemCouponResponseSchema,
  ResumeCampaignResponseSchema,
  VerifyCampaignResponseSchema,
  type CouponService,
} from "../gen/couponpb/coupon_pb.js";
import { cancelCampaign } from "../lifecycle/cancel.js";
import { pauseCampaign, resumeCampaign } from "../lifecycle/pause.js";
import { redeemCoupon } from "../lifecycle/redeem.js";
import { verifyCampaign } from "../lifecycle/verify.js";
import { toPbCampaign } from "./convert.js";

type LifecycleMethods = Pick<
  ServiceImpl<typeof CouponService>,
  "pauseCampaign" | "resumeCampaign" | "cancelCampaign" | "redeemCoupon" | "verifyCampaign"
>;

const changed = (r: { changed: boolean; view: CampaignView }) => ({ campaign: toPbCampaign(r.view), changed: r.changed });

/** The campaign lifecycle methods of CouponService: parse, call src/lifecycle, convert. */
export function lifecycleMethods(deps: Deps): LifecycleMethods {
  return {
    async pauseCampaign(req) {
      return create(PauseCampaignResponseSchema, changed(await pauseCampaign(deps, validateCampaignId(req.campaignId))));
    },

    async resumeCampaign(req) {
      return create(ResumeCampaignResponseSchema, changed(await resumeCampaign(deps, validateCampaignId(req.campaignId))));
    },

    async cancelCampaign(req) {
      return create(CancelCampaignResponseSchema, changed(await cancelCampaign(deps, validateCampaignId(req.campaignId))));
    },

    async redeemCoupon(req) {
      const r = await redeemCoupon(deps, req.code, req.userId);
      return create(RedeemCouponResponseSchema, {
        campaignId: BigInt(r.campaignId),
        redeemedAt: timestampFromMs(r.redeemedAt.getTime()),
        sequence: BigInt(r.sequence),
      });
    },

    async verifyCampaign(req) {
      const v = await verifyCampaign(deps, validateCampaignId(req.campaignId));
      return create(VerifyCampaignResponseSchema, {
        ...v,
        campaignId: BigInt(v.campaignId),
        generated: BigInt(v.generated),
        pooled: BigInt(v.pooled),
        issued: BigInt(v.issued),
        persisted: BigInt(v.persisted),
        pending: BigInt(v.pending),
        redeemed: BigInt(v.redeemed),
        voided: BigInt(v.voided),
      });
    },
  };
}
