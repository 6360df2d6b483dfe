import type { ChainableCommander } from "ioredis";

/**
 * Runs a MULTI and returns each command's reply in order. ioredis reports command errors inside
 * the reply list; the first one is thrown here, so callers read plain values.
 */
export async function execMulti(multi: ChainableCommander): Promise<unknown[]> {
  const replies = (await multi.exec()) ?? [];
  return replies.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
