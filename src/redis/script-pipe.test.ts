import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../testing/harness.js";
import { RedisServer } from "../testing/redis-server.js";
import { TcpProxy } from "../testing/tcp-proxy.js";
import { RespReader, RedisReplyError, type Reply } from "./resp-reader.js";
import { ScriptPipe, scriptPipeTarget, type ScriptPipeOptions } from "./script-pipe.js";

// Counts its calls in KEYS[1] and echoes its arguments, so a test can tell a call that ran twice.
const LUA = "local n = redis.call('INCR', KEYS[1]) return {n, ARGV[1], false}";

describe("RespReader", () => {
  const wire = Buffer.from("*3\r\n:-12\r\n$12\r\n가나다라\r\n$-1\r\n+OK\r\n-NOSCRIPT No matching script\r\n*2\r\n*1\r\n:7\r\n$0\r\n\r\n", "utf8");
  const expected: Reply[] = [[-12, "가나다라", null], "OK", new RedisReplyError("NOSCRIPT No matching script"), [[7], ""]];

  it("decodes integers, Hangul bulk strings, nil, errors and nested arrays", () => {
    const got: Reply[] = [];
    new RespReader().feed(wire, (r) => got.push(r));
    expect(got).toEqual(expected);
  });

  it("decodes the same replies when they arrive one byte at a time, split inside characters", () => {
    const got: Reply[] = [];
    const reader = new RespReader();
    for (let i = 0; i < wire.length; i++) reader.feed(wire.subarray(i, i + 1), (r) => got.push(r));
    expect(got).toEqual(expected);
  });

  it("decodes a batch of 2,000 stream entries that arrives in chunks of every size, and the replies around it", () => {
    const entries: Reply[] = Array.from({ length: 2000 }, (_, i) => [`1733270000000-${i}`, ["c", `가나${i}`, "u", `user-${i}`, "s", String(i + 1), "t", "1733270000000"]]);
    const batch: Reply = [["pp:cp:{1}:stream", entries]];
    const encode = (r: Reply): string =>
      Array.isArray(r) ? `*${r.length}\r\n${r.map(encode).join("")}` : `$${Buffer.byteLength(String(r))}\r\n${String(r)}\r\n`;
    const big = Buffer.concat([Buffer.from(":1\r\n"), Buffer.from(encode(batch)), wire]);
    for (const size of [1, 7, 1000, 65536]) {
      const got: Reply[] = [];
      const reader = new RespReader();
      for (let i = 0; i < big.length; i += size) reader.feed(big.subarray(i, i + size), (r) => got.push(r));
      expect(got).toEqual([1, batch, ...expected]);
    }
  });
});

describe("scriptPipeTarget", () => {
  it("reads host, port, user, password and database from a redis:// URL and leaves TLS to ioredis", () => {
    expect(scriptPipeTarget("redis://127.0.0.1:6379")).toEqual({ host: "127.0.0.1", port: 6379, username: undefined, password: undefined, db: 0 });
    expect(scriptPipeTarget("redis://u%40x:p%3Aw@cache:6380/3")).toEqual({ host: "cache", port: 6380, username: "u@x", password: "p:w", db: 3 });
    expect(scriptPipeTarget("redis://:secret@[::1]/2")).toMatchObject({ host: "::1", port: 6379, username: undefined, password: "secret", db: 2 });
    expect(scriptPipeTarget("rediss://cache:6380")).toBeUndefined();
    expect(scriptPipeTarget("not a url")).toBeUndefined();
  });
});

describe("ScriptPipe against a Redis of its own", () => {
  let server: RedisServer;
  let admin: Redis;
  let proxy: TcpProxy;

  beforeAll(async () => {
    server = await RedisServer.start();
    admin = new Redis(server.url);
    // A user of its own, so the handshake's AUTH (user and password) and SELECT are exercised too.
    await admin.acl("SETUSER", "pipe", "on", ">pipe-secret", "~*", "+@all");
    proxy = await new TcpProxy("127.0.0.1", server.port).start();
  });
  afterAll(async () => {
    await proxy.stop();
    admin.disconnect();
    await server.stop();
  });

  /** Pipes a test opened, quit after it (with the proxy back to passing bytes and `admin` on db 0). */
  const opened: ScriptPipe[] = [];
  afterEach(async () => {
    await proxy.set("pass");
    await admin.select(0);
    await Promise.all(opened.splice(0).map((p) => p.quit()));
  });

  async function openPipe(port: number, options: Partial<Pick<ScriptPipeOptions, "commandTimeoutMs" | "compactAfter">> = {}): Promise<ScriptPipe> {
    const target = scriptPipeTarget(`redis://pipe:pipe-secret@127.0.0.1:${port}/3`)!;
    const pipe = new ScriptPipe({ ...target, connectionName: "pipe-test", commandTimeoutMs: 2000, lua: LUA, ...options });
    opened.push(pipe);
    await pipe.connect();
    return pipe;
  }

  async function count(key: string): Promise<number> {
    const db3 = new Redis(`${server.url}/3`);
    try {
      return Number((await db3.get(key)) ?? 0);
    } finally {
      db3.disconnect();
    }
  }

  it("answers 2,000 concurrent calls each with its own reply, as that user in that database", async () => {
    const pipe = await openPipe(server.port);
    const replies = await Promise.all(Array.from({ length: 2000 }, (_, i) => pipe.run(["calls"], [`사용자-${i}`])));
    expect(replies.map((r) => r[1])).toEqual(Array.from({ length: 2000 }, (_, i) => `사용자-${i}`));
    expect(new Set(replies.map((r) => r[0])).size).toBe(2000);
    expect(await count("calls")).toBe(2000);
    const clients = String(await admin.client("LIST"));
    expect(clients).toMatch(/name=pipe-test .*db=3 .*user=pipe/);
  });

  it("keeps every reply with its call when the line is never empty (the queue compacted as it goes)", async () => {
    const pipe = await openPipe(server.port, { compactAfter: 8 });
    // 50 callers, each sending its next call as soon as the last is answered: 10,000 calls, always some in flight.
    const mismatches: string[] = [];
    await Promise.all(
      Array.from({ length: 50 }, async (_, c) => {
        for (let i = 0; i < 200; i++) {
          const reply = await pipe.run(["steady"], [`${c}-${i}`]);
          if (reply[1] !== `${c}-${i}`) mismatches.push(`${c}-${i} got ${String(reply[1])}`);
        }
      }),
    );
    expect(mismatches).toEqual([]);
    expect(await count("steady")).toBe(10_000);
  });

  it("runs a call once by EVAL when Redis has lost its scripts (SCRIPT FLUSH), and EVALSHA works again after", async () => {
    const pipe = await openPipe(server.port);
    await admin.script("FLUSH");
    expect((await pipe.run(["flushed"], ["a"]))[0]).toBe(1);
    expect((await pipe.run(["flushed"], ["b"]))[0]).toBe(2);
    expect(await count("flushed")).toBe(2);
  });

  it("rejects a script error with Redis's message and goes on serving", async () => {
    const pipe = await openPipe(server.port);
    await admin.select(3);
    await admin.set("not-a-counter", "x");
    await expect(pipe.run(["not-a-counter"], ["a"])).rejects.toThrow(/not an integer/);
    expect((await pipe.run(["after-error"], ["b"]))[1]).toBe("b");
  });

  it("fails a call whose reply was lost with the line, never sends it again, and reconnects", async () => {
    const pipe = await openPipe(proxy.port);
    const sprung = proxy.dropReplyTo("EVALSHA");
    await expect(pipe.run(["lost"], ["a"])).rejects.toThrow(/Connection is closed/);
    await sprung;
    // It ran once; after the reconnect a new call finds exactly that one before it.
    const next = await waitFor("the reconnect", () => pipe.run(["lost"], ["b"]).catch(() => undefined), 10_000);
    expect(next[0]).toBe(2);
    expect(await count("lost")).toBe(2);
  });

  it("fails at once while Redis cannot be reached, tells /readyz, and serves again once it can", async () => {
    const pipe = await openPipe(proxy.port);
    await proxy.set("refuse");
    await expect(pipe.run(["down"], ["a"])).rejects.toThrow();
    const startedMs = Date.now();
    await expect(pipe.run(["down"], ["b"])).rejects.toThrow(/not ready/);
    expect(Date.now() - startedMs).toBeLessThan(100);
    await expect(pipe.ping()).rejects.toThrow(/not ready/); // what /readyz sees meanwhile
    await proxy.set("pass");
    const back = await waitFor("the reconnect", () => pipe.run(["down"], ["c"]).catch(() => undefined), 10_000);
    expect(back[1]).toBe("c");
    expect(await pipe.ping()).toBe("PONG");
  });

  it("fails a call Redis never answers once the command timeout has passed", async () => {
    const pipe = await openPipe(proxy.port, { commandTimeoutMs: 300 });
    await proxy.set("blackhole");
    await expect(pipe.run(["hung"], ["a"])).rejects.toThrow(/Connection is closed/);
  });
});
