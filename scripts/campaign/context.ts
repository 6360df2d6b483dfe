import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import type { Command } from "commander";
import { CouponService } from "../../src/gen/couponpb/coupon_pb.js";

export const DEFAULT_URL = "http://127.0.0.1:8080";

/** A failure the admin can act on: printed as one sentence, exit code 1, never a stack trace. */
export class CliError extends Error {
  override readonly name = "CliError";
}

/** What every command gets: the service's Connect client and the options it was built from. */
export type CliContext = {
  url: string;
  apiKey: string | undefined;
  client: Client<typeof CouponService>;
};

/** The global options: --url (or COUPON_URL) and --api-key (or COUPON_ADMIN_KEY). */
export function addGlobalOptions(program: Command): Command {
  return program
    .option("--url <url>", "the coupon service", process.env.COUPON_URL || DEFAULT_URL)
    .option("--api-key <key>", "the service's ADMIN_API_KEY (default: $COUPON_ADMIN_KEY)");
}

/** Builds the context from a command's options and the global ones. */
export function contextOf(cmd: Command): CliContext {
  const opts = cmd.optsWithGlobals<{ url: string; apiKey?: string }>();
  let url: URL;
  try {
    url = new URL(opts.url);
  } catch {
    throw new CliError(`--url "${opts.url}" is not a URL; give one like ${DEFAULT_URL}.`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new CliError(`--url "${opts.url}" must start with http:// or https://.`);
  }
  const apiKey = opts.apiKey || process.env.COUPON_ADMIN_KEY || undefined;
  const bearer: Interceptor = (next) => (req) => {
    if (apiKey) req.header.set("authorization", `Bearer ${apiKey}`);
    return next(req);
  };
  const baseUrl = url.toString().replace(/\/$/, "");
  const transport = createConnectTransport({
    baseUrl,
    httpVersion: "1.1",
    interceptors: [bearer],
    defaultTimeoutMs: 30_000,
  });
  return { url: baseUrl, apiKey, client: createClient(CouponService, transport) };
}

const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "no such host",
  EAI_AGAIN: "the host name does not resolve",
  ECONNRESET: "the connection was reset",
  ETIMEDOUT: "the connection timed out",
  EHOSTUNREACH: "the host is unreachable",
  UND_ERR_SOCKET: "the connection was closed",
};

function causeCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.code === "string" && e.code in UNREACHABLE) return e.code;
    const errors = (e as { errors?: unknown[] }).errors; // AggregateError from happy eyeballs
    if (Array.isArray(errors)) for (const inner of errors) {
      const c = causeCode(inner);
      if (c) return c;
    }
  }
  return undefined;
}

/** One plain sentence for anything a command throws. */
export function explain(err: unknown, url: string | undefined, apiKey: string | undefined): string {
  if (err instanceof CliError) return err.message;
  if (err instanceof ConnectError) {
    const where = url ?? "the given --url";
    const net = causeCode(err);
    if (net) return `Cannot reach the coupon service at ${where} (${UNREACHABLE[net]}); is it running?`;
    if (err.code === Code.Unauthenticated) {
      return apiKey
        ? `The service at ${where} refused the admin key; pass the service's ADMIN_API_KEY with --api-key or COUPON_ADMIN_KEY.`
        : `The service at ${where} requires an admin key; pass its ADMIN_API_KEY with --api-key or COUPON_ADMIN_KEY.`;
    }
    if (err.code === Code.DeadlineExceeded) return `The coupon service at ${where} did not answer in time.`;
    const msg = err.rawMessage.replace(/[.\s]+$/, "");
    return `The service refused: ${msg} (${codeToString(err.code)}).`;
  }
  const e = err as { code?: string; path?: string; message?: string };
  if (e?.code === "ENOENT" && e.path) return `No such file: ${e.path}.`;
  if (e?.code === "EACCES" && e.path) return `Permission denied: ${e.path}.`;
  return `Unexpected error: ${e?.message ?? String(err)}`;
}
