import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { IssuePool } from "./issue-pool.js";

// The generator's client against real HTTP servers that misbehave in the ways a loaded service
// or a restart can: closing every connection, dropping a request, never answering.
let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const COUPON = JSON.stringify({ couponCode: "듲섎71쵛댛홡", sequence: "7" });

describe("IssuePool", () => {
  it("sends Connect JSON and reads the coupon, over connections the server closes after every answer", async () => {
    const bodies: string[] = [];
    const url = await serve((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c)).on("end", () => {
        bodies.push(`${req.method} ${req.url} ${req.headers["content-type"]} ${body}`);
        res.writeHead(200, { "content-type": "application/json", connection: "close" }).end(COUPON);
      });
    });
    const pool = new IssuePool(url, { connections: 2, timeoutMs: 5000 });
    const outcomes = await Promise.all([1, 2, 3, 4, 5].map((i) => pool.issue("12", `u-${i}`)));
    pool.close();
    expect(outcomes).toEqual(Array(5).fill({ ok: true, code: "듲섎71쵛댛홡", sequence: 7 }));
    expect(bodies).toContain('POST /couponpb.CouponService/IssueCoupon application/json {"campaignId":"12","userId":"u-3"}');
  });

  it("reads the Connect code of an error answer from its body", async () => {
    const url = await serve((req, res) => {
      req.resume().on("end", () => res.writeHead(429, { "content-type": "application/json" }).end('{"code":"resource_exhausted","message":"sold out"}'));
    });
    const pool = new IssuePool(url, { connections: 1, timeoutMs: 5000 });
    expect(await pool.issue("1", "u")).toEqual({ ok: false, error: "resource_exhausted", message: "sold out" });
    pool.close();
  });

  it("answers unavailable for a dropped connection, deadline_exceeded for no answer, and keeps working after both", async () => {
    let calls = 0;
    const url = await serve((req, res) => {
      calls++;
      if (calls === 1) req.socket.destroy();
      else if (calls === 2) return; // never answers
      else req.resume().on("end", () => res.writeHead(200, { "content-type": "application/json" }).end(COUPON));
    });
    const pool = new IssuePool(url, { connections: 1, timeoutMs: 300 });
    expect(await pool.issue("1", "a")).toMatchObject({ ok: false, error: "unavailable" });
    expect(await pool.issue("1", "b")).toMatchObject({ ok: false, error: "deadline_exceeded" });
    expect(await pool.issue("1", "c")).toMatchObject({ ok: true });
    pool.close();
  });
});
