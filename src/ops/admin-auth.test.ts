import { describe, expect, it } from "vitest";
import { adminKeyCheck, isAdminMethod } from "./admin-auth.js";

describe("admin key check", () => {
  const check = adminKeyCheck("0123456789abcdef-secret");

  it("accepts exactly `Bearer <key>`, whatever the case of the scheme", () => {
    expect(check("Bearer 0123456789abcdef-secret")).toBe(true);
    expect(check("bearer 0123456789abcdef-secret")).toBe(true);
  });

  it("refuses a missing header, another scheme, a wrong, shorter or longer key", () => {
    for (const header of [
      undefined,
      null,
      "",
      "Bearer",
      "Bearer ",
      "Basic 0123456789abcdef-secret",
      "0123456789abcdef-secret",
      "Bearer 0123456789abcdef-secreT",
      "Bearer 0123456789abcdef",
      "Bearer 0123456789abcdef-secret-and-more",
    ]) {
      expect(check(header), String(header)).toBe(false);
    }
  });

  it("requires the key for admin methods only; issuing and reading a campaign stay open", () => {
    for (const m of ["CreateCampaign", "ListCampaigns", "ListIssuedCoupons", "PauseCampaign", "RedeemCoupon"]) {
      expect(isAdminMethod(m), m).toBe(true);
    }
    for (const m of ["IssueCoupon", "GetCampaign"]) expect(isAdminMethod(m), m).toBe(false);
  });
});
