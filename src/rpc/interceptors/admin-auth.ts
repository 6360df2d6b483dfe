import type { Interceptor } from "@connectrpc/connect";
import { AppError } from "../../errors.js";
import { adminKeyCheck, isAdminMethod } from "../../ops/admin-auth.js";

/**
 * Requires `Authorization: Bearer <adminApiKey>` on the admin methods (ADMIN_METHODS) and answers
 * `unauthenticated` without it. IssueCoupon and GetCampaign always pass. Without a key configured
 * every method is open, as in the original service (the service warns about it at start-up).
 */
export function adminAuthInterceptor(options: { adminApiKey: string | undefined }): Interceptor {
  const { adminApiKey } = options;
  if (adminApiKey === undefined) return (next) => next;
  const check = adminKeyCheck(adminApiKey);
  return (next) => async (req) => {
    if (isAdminMethod(req.method.name) && !check(req.header.get("authorization"))) {
      throw new AppError(
        "unauthenticated",
        `${req.method.name} needs the admin key: send "Authorization: Bearer <key>" with the service's ADMIN_API_KEY`,
      );
    }
    return next(req);
  };
}
