import { createPublicKey, createSecretKey, type KeyObject } from "node:crypto";
import { importSPKI, jwtVerify, type JWTPayload } from "jose";
import { validateUserId } from "../campaigns/validation.js";
import type { Config } from "../config.js";
import { AppError } from "../errors.js";

/**
 * Who the caller of IssueCoupon is, from a signed token (optional, off by default). With
 * USER_TOKEN_SECRET (HS256) or USER_TOKEN_PUBLIC_KEY (ES256 or RS256, PEM) set, IssueCoupon
 * requires `Authorization: Bearer <JWT>` and serves the token's `sub`: knowing a user id is no
 * longer enough to get that user's code. Without either, the body's user_id is taken as it is,
 * as in the original service.
 */
export type UserIdentity = {
  /**
   * The user to serve: the token's `sub`. Refuses (`unauthenticated`) a missing, malformed,
   * forged, expired or not-yet-valid token, or one of another issuer or audience; refuses
   * (`permission_denied`) a body user_id that names someone else. An empty body user_id is fine.
   */
  userOf(authorization: string | undefined, bodyUserId: string): Promise<string>;
};

/** Verified tokens kept, so a retry with the same token costs a map lookup, not a signature check. */
const CACHE_MAX = 10_000;

type Verified = { sub: string; expMs: number; nbfMs: number };

const unauthenticated = (message: string) => new AppError("unauthenticated", message);

function keyOf(config: Config): { key: KeyObject; algorithm: "HS256" | "ES256" | "RS256" } | undefined {
  if (config.USER_TOKEN_SECRET !== undefined) {
    return { key: createSecretKey(Buffer.from(config.USER_TOKEN_SECRET, "utf8")), algorithm: "HS256" };
  }
  if (config.USER_TOKEN_PUBLIC_KEY === undefined) return undefined;
  const key = createPublicKey(config.USER_TOKEN_PUBLIC_KEY);
  if (key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1") return { key, algorithm: "ES256" };
  if (key.asymmetricKeyType === "rsa") return { key, algorithm: "RS256" };
  throw new Error("USER_TOKEN_PUBLIC_KEY must be an EC P-256 (ES256) or an RSA (RS256) public key");
}

/** A plain sentence for each way jose refuses a token. */
function refusal(err: unknown): AppError {
  const e = err as { code?: string; claim?: string };
  switch (e.code) {
    case "ERR_JWT_EXPIRED":
      return unauthenticated("the user token has expired");
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      if (e.claim === "nbf") return unauthenticated("the user token is not valid yet (nbf)");
      if (e.claim === "iss") return unauthenticated("the user token was issued by another issuer (iss)");
      if (e.claim === "aud") return unauthenticated("the user token is meant for another audience (aud)");
      return unauthenticated(`the user token's ${e.claim ?? "claims"} claim is missing or invalid`);
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return unauthenticated("the user token's signature does not verify");
    case "ERR_JOSE_ALG_NOT_ALLOWED":
      return unauthenticated("the user token is signed with an algorithm this service does not accept");
    default:
      return unauthenticated("the user token is not a valid JWT");
  }
}

function build(config: Config): UserIdentity | undefined {
  const k = keyOf(config);
  if (k === undefined) return undefined;
  const options = {
    algorithms: [k.algorithm],
    requiredClaims: ["exp", "sub"],
    ...(config.USER_TOKEN_ISSUER !== undefined ? { issuer: config.USER_TOKEN_ISSUER } : {}),
    ...(config.USER_TOKEN_AUDIENCE !== undefined ? { audience: config.USER_TOKEN_AUDIENCE } : {}),
  };
  const cache = new Map<string, Verified>();
  // jose works on WebCrypto keys: handed a KeyObject it converts it on every call (~100 µs), so
  // the key is converted once, here.
  const cryptoKey: Promise<Awaited<ReturnType<typeof importSPKI>>> =
    k.algorithm === "HS256"
      ? crypto.subtle.importKey("raw", Buffer.from(config.USER_TOKEN_SECRET!, "utf8"), { name: "HMAC", hash: "SHA-256" }, false, ["verify"])
      : importSPKI(k.key.export({ type: "spki", format: "pem" }).toString(), k.algorithm);
  cryptoKey.catch(() => undefined); // a failure is reported by the first verify

  async function verify(token: string): Promise<Verified> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, await cryptoKey, options));
    } catch (err) {
      throw refusal(err);
    }
    if (typeof payload.sub !== "string" || payload.sub === "") throw unauthenticated("the user token names no user (sub)");
    try {
      validateUserId(payload.sub);
    } catch (err) {
      throw unauthenticated(`the user token's sub is not a usable user id: ${(err as Error).message}`);
    }
    const v = { sub: payload.sub, expMs: payload.exp! * 1000, nbfMs: payload.nbf === undefined ? 0 : payload.nbf * 1000 };
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!); // the oldest entry
    cache.set(token, v);
    return v;
  }

  return {
    async userOf(authorization, bodyUserId) {
      const m = authorization === undefined ? null : /^Bearer[ \t]+([^ \t]+)[ \t]*$/i.exec(authorization);
      if (!m) throw unauthenticated('IssueCoupon needs a user token: send "Authorization: Bearer <JWT>"');
      const token = m[1]!;
      const now = Date.now();
      let v = cache.get(token);
      // The signature was checked for these exact bytes; the times are checked on every use.
      if (v !== undefined && now >= v.expMs) throw unauthenticated("the user token has expired");
      if (v !== undefined && now < v.nbfMs) throw unauthenticated("the user token is not valid yet (nbf)");
      v ??= await verify(token);
      if (bodyUserId !== "" && bodyUserId !== v.sub) {
        throw new AppError("permission_denied", "user_id differs from the user the token names: leave it empty or send the token's user");
      }
      return v.sub;
    },
  };
}

const NONE = Symbol("no user tokens");
const built = new WeakMap<Config, UserIdentity | typeof NONE>();

/**
 * The config's user identity, built on first use (and at start by the service, so a bad key
 * fails the start); undefined when no token is configured: the caller then takes the body's
 * user_id with one comparison and no allocation.
 */
export function userIdentityOf(config: Config): UserIdentity | undefined {
  let identity = built.get(config);
  if (identity === undefined) {
    identity = build(config) ?? NONE;
    built.set(config, identity);
  }
  return identity === NONE ? undefined : identity;
}
