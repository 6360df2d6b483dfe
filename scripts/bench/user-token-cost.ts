/**
 * What a user token costs IssueCoupon (src/rpc/user-identity.ts), per call, on this machine:
 * `npx tsx scripts/bench/user-token-cost.ts`. Verifies 3,000 distinct tokens of each algorithm
 * (first use: a signature check), then the same tokens again (served from the verified-token
 * cache), and times the check made when no token is configured. A few seconds in all.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { SignJWT } from "jose";
import { loadConfig, type Config } from "../../src/config.js";
import { userIdentityOf } from "../../src/rpc/user-identity.js";
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const secret = "x".repeat(40);
const pem = (k: KeyObject) => k.export({ type: "spki", format: "pem" }).toString();
const kinds = {
  HS256: [loadConfig({ USER_TOKEN_SECRET: secret }), (sub: string) => new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(sub).setExpirationTime("1h").sign(new TextEncoder().encode(secret))],
  ES256: [loadConfig({ USER_TOKEN_PUBLIC_KEY: pem(ec.publicKey) }), (sub: string) => new SignJWT({}).setProtectedHeader({ alg: "ES256" }).setSubject(sub).setExpirationTime("1h").sign(ec.privateKey)],
  RS256: [loadConfig({ USER_TOKEN_PUBLIC_KEY: pem(rsa.publicKey) }), (sub: string) => new SignJWT({}).setProtectedHeader({ alg: "RS256" }).setSubject(sub).setExpirationTime("1h").sign(rsa.privateKey)],
} as const;
const N = 3000;
for (const [name, [config, sign]] of Object.entries(kinds)) {
  const id = userIdentityOf(config as Config)!;
  const tokens = await Promise.all(Array.from({ length: N }, (_, i) => (sign as (sub: string) => Promise<string>)(`u${i}`)));
  let t = performance.now();
  for (const tok of tokens) await id.userOf(`Bearer ${tok}`, "");
  const first = (performance.now() - t) * 1000 / N;
  t = performance.now();
  for (const tok of tokens) await id.userOf(`Bearer ${tok}`, "");
  const cached = (performance.now() - t) * 1000 / N;
  console.log(`${name}: first use ${first.toFixed(1)} µs, cached ${cached.toFixed(1)} µs per IssueCoupon`);
}
const none = loadConfig({});
let t = performance.now();
for (let i = 0; i < 1e6; i++) userIdentityOf(none);
console.log(`no tokens configured: ${((performance.now() - t) * 1000 / 1e6).toFixed(3)} µs per call`);
