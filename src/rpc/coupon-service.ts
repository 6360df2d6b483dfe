import { create } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { createContextKey, type ServiceImpl } from "@connectrpc/connect";
import { readIssuesPage } from "../campaigns/campaign-snapshot.js";
import { CampaignReader } from "../campaigns/get-campaign.js";
import { createCampaign } from "../campaigns/create.js";
import { listCampaigns } from "../campaigns/list.js";
import { rebuildCampaign } from "../campaigns/rebuild.js";
import { LIMITS, validateCampaignId, validatePageSize, validateUserId } from "../campaigns/validation.js";
import type { Deps } from "../deps.js";
import { AppError, invalidArgument } from "../errors.js";
import {
  CreateCampaignResponseSchema,
  GetCampaignResponseSchema,
  IssueCouponResponseSchema,
  ListCampaignsResponseSchema,
  ListIssuedCouponsResponseSchema,
  RebuildCampaignResponseSchema,
  type CouponService,
  type IssueCouponRequest,
  type IssueCouponResponse,
} from "../gen/couponpb/coupon_pb.js";
import { issueAskingRedis, issueCoupon, type IssuedCoupon } from "../issue/issue.js";
import { clientIpKey } from "./client-ip.js";
import { timestampToMs, toPbCampaign, toPbIssuedCoupon } from "./convert.js";
import { lifecycleMethods } from "./lifecycle-methods.js";
import { adminKeyCheck } from "../ops/admin-auth.js";
import { userIdentityOf } from "./user-identity.js";

/** Resolves once a GetCampaign answer has been written to the caller (connect-handler.ts sets it). */
export const answerWrittenKey = createContextKey<Promise<unknown> | undefined>(undefined);

/**
 * IssueCoupon as one function of request message to response message, for the connect-es router.
 * The dedicated fast handler calls `startIssueForCaller` below, as this does, so both give the
 * same answers and errors.
 */
export async function handleIssueCoupon(
  deps: Deps,
  req: IssueCouponRequest,
  clientIp: string,
  authorization: string | undefined,
): Promise<IssueCouponResponse> {
  const answer = startIssueForCaller(deps, req, clientIp, authorization);
  if (answer instanceof AppError) throw answer;
  const issued = await answer;
  return create(IssueCouponResponseSchema, { couponCode: issued.code, sequence: BigInt(issued.sequence) });
}

/**
 * IssueCoupon up to the domain's answer, validating the request once. A refusal this instance
 * already knows (a sold-out or not-started campaign, src/issue/refusal-memo.ts) comes back at once
 * as the error itself, so the fast handler answers it without a promise, a thrown error or a Redis
 * round trip: in a flash sale most calls are these. Anything else is the promise of the answer;
 * bad input throws. With user tokens the caller is known only once the token is verified.
 */
export function startIssueForCaller(
  deps: Deps,
  req: IssueCouponRequest,
  clientIp: string,
  authorization: string | undefined,
): AppError | Promise<IssuedCoupon> {
  const campaignId = validateCampaignId(req.campaignId);
  const identity = userIdentityOf(deps.config);
  if (identity !== undefined) {
    return identity.userOf(authorization, req.userId).then((userId) => issueCoupon(deps, campaignId, { userId, ip: clientIp }));
  }
  // Without user tokens configured: the body's user_id, one map lookup and one comparison.
  const userId = validateUserId(req.userId);
  return deps.refusals.refusal(campaignId, userId) ?? issueAskingRedis(deps, campaignId, { userId, ip: clientIp });
}

function parsePageToken(token: string): number {
  if (token === "") return 0;
  if (!/^[0-9]{1,15}$/.test(token)) throw invalidArgument("page_token is not a token this service returned");
  return Number(token);
}

/** The thin RPC adapter: parse, call the domain, convert. Errors are mapped by an interceptor. */
export function couponServiceImpl(deps: Deps): ServiceImpl<typeof CouponService> {
  const reader = new CampaignReader(deps, { maxCodes: deps.config.GET_CAMPAIGN_MAX_CODES });
  // With an admin key, issued codes are the admin's to read: a code issued to no user in
  // particular can be redeemed by whoever reads it. Without one, anyone may, as in the original.
  const adminKey = deps.config.ADMIN_API_KEY;
  const mayListCodes = adminKey === undefined ? () => true : adminKeyCheck(adminKey);
  return {
    ...lifecycleMethods(deps),

    async createCampaign(req) {
      const id = await createCampaign(deps, {
        name: req.name,
        startTimeMs: timestampToMs(req.startTime, "start_time"),
        endTimeMs: timestampToMs(req.endTime, "end_time"),
        totalCoupons: req.totalCoupons,
        shards: req.shards,
      });
      return create(CreateCampaignResponseSchema, { campaignId: BigInt(id) });
    },

    async getCampaign(req, ctx) {
      const id = validateCampaignId(req.campaignId);
      // A caller without the admin key gets the counts and state, never an error: GetCampaign
      // stays open to a campaign's public (and an Authorization header may carry a user token).
      const withCodes = !req.omitCodes && mayListCodes(ctx.requestHeader.get("authorization"));
      const { view, codes } = await reader.read(id, withCodes, ctx.values.get(answerWrittenKey));
      const answer = create(GetCampaignResponseSchema, { campaign: toPbCampaign(view), codesOmitted: codes === undefined });
      if (codes === undefined || codes.length === 0) return answer;
      // A binary answer carries the snapshot's codes encoded once for all its callers
      // (CampaignReader.encodedCodes): same bytes on the wire, no per-caller encoding.
      const contentType = ctx.requestHeader.get("content-type") ?? "";
      if (contentType !== "" && !contentType.includes("json")) {
        answer.$unknown = [{ no: 2, wireType: WireType.LengthDelimited, data: reader.encodedCodes(codes) }];
      } else {
        answer.couponCodes = codes as string[];
      }
      return answer;
    },

    issueCoupon: (req, ctx) =>
      handleIssueCoupon(deps, req, ctx.values.get(clientIpKey), ctx.requestHeader.get("authorization") ?? undefined),

    async rebuildCampaign(req) {
      const r = await rebuildCampaign(deps, validateCampaignId(req.campaignId));
      return create(RebuildCampaignResponseSchema, {
        reloaded: BigInt(r.reloaded),
        quarantined: BigInt(r.quarantined),
        allowance: BigInt(r.allowance),
        owners: BigInt(r.owners),
      });
    },

    async listIssuedCoupons(req) {
      const id = validateCampaignId(req.campaignId);
      const pageSize = validatePageSize(req.pageSize);
      const after = parsePageToken(req.pageToken);
      const rows = await readIssuesPage(deps, id, after, pageSize);
      const last = rows[rows.length - 1];
      return create(ListIssuedCouponsResponseSchema, {
        coupons: rows.map(toPbIssuedCoupon),
        nextPageToken: rows.length === pageSize && last ? String(last.sequence) : "",
      });
    },

    async listCampaigns(req) {
      const pageSize = validatePageSize(req.pageSize);
      if (req.campaignIds.length > LIMITS.pageSizeMax) {
        throw invalidArgument(`campaign_ids must name at most ${LIMITS.pageSizeMax} campaigns`);
      }
      const ids = req.campaignIds.length > 0 ? req.campaignIds.map(validateCampaignId) : undefined;
      const beforeId = req.pageToken === "" ? undefined : parsePageToken(req.pageToken);
      const { views, hasMore } = await listCampaigns(deps, { pageSize, beforeId, ids });
      const last = views[views.length - 1];
      return create(ListCampaignsResponseSchema, {
        campaigns: views.map(toPbCampaign),
        nextPageToken: hasMore && last ? String(last.id) : "",
      });
    },
  };
}
