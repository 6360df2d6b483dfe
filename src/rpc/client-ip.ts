import type { IncomingMessage } from "node:http";
import { createContextKey, createContextValues, type ContextValues } from "@connectrpc/connect";

/**
 * The caller's address, for the optional per-address issue limit. It is the TCP peer: behind a
 * proxy that is the proxy, so set the limit only where clients connect directly.
 */
export const clientIpKey = createContextKey<string>("");

/** Context values of a generic-path request carrying its client address. */
export function withClientIp(req: IncomingMessage): ContextValues {
  return createContextValues().set(clientIpKey, req.socket.remoteAddress ?? "");
}
