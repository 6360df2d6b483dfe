import { generateKeyPairSync } from "node:crypto";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLoadedCampaign, startTestService, stopTestService, testNamespace, type TestService } from "../testing/harness.js";

// With USER_TOKEN_SECRET or USER_TOKEN_PUBLIC_KEY set, IssueCoupon serves the user a signed token
// names, on both IssueCoupon paths, and refuses every other caller with a plain message.
const SECRET = "user-token-secret-0123456789abcdef-0123";
const ISSUER = "https://login.example";
const AUDIENCE = "coupons";
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const pem = (k: typeof ec.publicKey) => k.export({ type: "spki", format: "pem" }).toString();

let fast: TestService;
let connect: TestService;
let es256: TestService;
let rs256: TestService;
let campaignId: bigint;
beforeAll(async () => {
  const ns = testNamespace();
  const hs = { USER_TOKEN_SECRET: SECRET, USER_TOKEN_ISSUER: ISSUER, USER_TOKEN_AUDIENCE: AUDIENCE };
  fast = await startTestService({ ...hs, ISSUE_PATH: "fast" }, undefined, ns);
  [connect, es256, rs256] = await Promise.all([
    startTestService({ ...hs, ISSUE_PATH: "connect", PERSISTER: "off" }, undefined, ns),
    // A PEM with its line breaks written as \n, as it is put in one environment variable.
    startTestService({ USER_TOKEN_PUBLIC_KEY: pem(ec.publicKey).replace(/\n/g, "\\n"), PERSISTER: "off" }, undefined, ns),
    startTestService({ USER_TOKEN_PUBLIC_KEY: pem(rsa.publicKey), ISSUE_PATH: "connect", PERSISTER: "off" }, undefined, ns),
  ]);
  ({ campaignId } = await createLoadedCampaign(fast.json, { total: 100 }));
});
afterAll(async () => {
  await Promise.all([connect?.stop(), es256?.stop(), rs256?.stop()]);
  if (fast) await stopTestService(fast);
});

type Claims = { sub?: string; exp?: number | null; nbf?: number; iss?: string; aud?: string };
const nowS = () => Math.floor(Date.now() / 1000);

function hsToken(claims: Claims, secret = SECRET): Promise<string> {
  const jwt = new SignJWT({}).setProtectedHeader({ alg: "HS256" });
  if (claims.sub !== undefined) jwt.setSubject(claims.sub);
  if (claims.exp !== null) jwt.setExpirationTime(claims.exp ?? nowS() + 300);
  if (claims.nbf !== undefined) jwt.setNotBefore(claims.nbf);
  jwt.setIssuer(claims.iss ?? ISSUER).setAudience(claims.aud ?? AUDIENCE);
  return jwt.sign(new TextEncoder().encode(secret));
}

async function issue(s: TestService, body: { userId?: string }, authorization?: string) {
  const res = await fetch(`${s.url}/couponpb.CouponService/IssueCoupon`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
    body: JSON.stringify({ campaignId: String(campaignId), ...body }),
  });
  return { status: res.status, body: (await res.json()) as { code?: string; message?: string; couponCode?: string } };
}

const paths = () => [
  ["fast handler", fast],
  ["connect-es router", connect],
] as const;

describe("IssueCoupon with user tokens", () => {
  it("serves the token's user, the same code on a retry, whatever the body names or leaves empty", async () => {
    for (const [name, s] of paths()) {
      const token = await hsToken({ sub: `alice-${name}` });
      const first = await issue(s, {}, `Bearer ${token}`);
      expect(first.status, name).toBe(200);
      const again = await issue(s, { userId: `alice-${name}` }, `bearer  ${token}`);
      expect(again.body.couponCode).toBe(first.body.couponCode);
      // A fresh token for the same user: still the same user.
      const fresh = await issue(s, {}, `Bearer ${await hsToken({ sub: `alice-${name}`, exp: nowS() + 600 })}`);
      expect(fresh.body.couponCode).toBe(first.body.couponCode);
    }
  });

  it("refuses a caller without a token, and a body user_id that is not the token's user", async () => {
    for (const [name, s] of paths()) {
      expect(await issue(s, { userId: "alice" }), name).toEqual({
        status: 401,
        body: { code: "unauthenticated", message: 'IssueCoupon needs a user token: send "Authorization: Bearer <JWT>"' },
      });
      expect(await issue(s, { userId: "alice" }, "Basic YWxpY2U6eA=="), name).toMatchObject({ status: 401 });
      const bob = await hsToken({ sub: "bob" });
      expect(await issue(s, { userId: "alice" }, `Bearer ${bob}`), name).toEqual({
        status: 403,
        body: {
          code: "permission_denied",
          message: "user_id differs from the user the token names: leave it empty or send the token's user",
        },
      });
    }
  });

  it("refuses expired, not-yet-valid, forged, foreign and subject-less tokens, each in plain words", async () => {
    const cases: Array<[Promise<string> | string, string]> = [
      [hsToken({ sub: "carol", exp: nowS() - 10 }), "the user token has expired"],
      [hsToken({ sub: "carol", nbf: nowS() + 600 }), "the user token is not valid yet (nbf)"],
      [hsToken({ sub: "carol" }, "another-secret-0123456789abcdef-0123456"), "the user token's signature does not verify"],
      [hsToken({ sub: "carol", iss: "https://evil.example" }), "the user token was issued by another issuer (iss)"],
      [hsToken({ sub: "carol", aud: "another-service" }), "the user token is meant for another audience (aud)"],
      [hsToken({ sub: "carol", exp: null }), "the user token's exp claim is missing or invalid"],
      [hsToken({}), "the user token's sub claim is missing or invalid"],
      [hsToken({ sub: "   " }), "the user token's sub is not a usable user id: user_id must not be only whitespace (leave it empty for an anonymous caller)"],
      ["not.a.jwt", "the user token is not a valid JWT"],
    ];
    for (const [name, s] of paths()) {
      for (const [token, message] of cases) {
        expect(await issue(s, {}, `Bearer ${await token}`), `${name}: ${message}`).toEqual({
          status: 401,
          body: { code: "unauthenticated", message },
        });
      }
    }
  });

  it("verifies ES256 and RS256 tokens against USER_TOKEN_PUBLIC_KEY, and refuses an HS256 token there", async () => {
    const es = await new SignJWT({}).setProtectedHeader({ alg: "ES256" }).setSubject("dave").setExpirationTime("5m").sign(ec.privateKey);
    const rs = await new SignJWT({}).setProtectedHeader({ alg: "RS256" }).setSubject("erin").setExpirationTime("5m").sign(rsa.privateKey);
    expect((await issue(es256, {}, `Bearer ${es}`)).status).toBe(200);
    expect((await issue(rs256, { userId: "erin" }, `Bearer ${rs}`)).status).toBe(200);
    expect((await issue(es256, {}, `Bearer ${rs}`)).body).toEqual({
      code: "unauthenticated",
      message: "the user token is signed with an algorithm this service does not accept",
    });
    const hs = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("dave").setExpirationTime("5m").sign(new TextEncoder().encode(SECRET));
    expect((await issue(es256, {}, `Bearer ${hs}`)).body.code).toBe("unauthenticated");
  });
});
