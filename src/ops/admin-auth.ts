import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Methods of `couponpb.CouponService` that require the admin key when `ADMIN_API_KEY` is set.
 * IssueCoupon and GetCampaign are deliberately absent: callers of a campaign never hold the key.
 * The lifecycle methods are listed before they exist so that adding one can never leave it open.
 */
export const ADMIN_METHODS = [
  "CreateCampaign",
  "ListCampaigns",
  "ListIssuedCoupons",
  "PauseCampaign",
  "ResumeCampaign",
  "CancelCampaign",
  "VerifyCampaign",
  "RedeemCoupon",
  "RebuildCampaign",
] as const;

/** What the service logs at start, and the console shows, when no admin key is configured. */
export const OPEN_ADMIN_WARNING =
  "ADMIN_API_KEY is not set: CreateCampaign, ListCampaigns, ListIssuedCoupons and the other admin methods are open to anyone who can reach this port, and GetCampaign lists every issued code to anyone (as the original service did)";

const ADMIN_METHOD_SET: ReadonlySet<string> = new Set(ADMIN_METHODS);

/** True when `method` (a proto method name such as "CreateCampaign") needs the admin key. */
export function isAdminMethod(method: string): boolean {
  return ADMIN_METHOD_SET.has(method);
}

function sha256(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

/**
 * Returns a check of an `Authorization` header value against `Bearer <adminKey>`. Both sides are
 * hashed first, so `timingSafeEqual` always compares 32 bytes: neither the key's length nor the
 * position of the first wrong character shows in the response time.
 */
export function adminKeyCheck(adminKey: string): (authorization: string | null | undefined) => boolean {
  const expected = sha256(adminKey);
  return (authorization) => {
    if (!authorization) return false;
    const m = /^Bearer[ \t]+(.+?)[ \t]*$/i.exec(authorization);
    if (!m) return false;
    return timingSafeEqual(sha256(m[1]!), expected);
  };
}
