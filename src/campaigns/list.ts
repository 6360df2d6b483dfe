import { desc, inArray, lt } from "drizzle-orm";
import { withMysql } from "../db/errors.js";
import { campaigns } from "../db/schema.js";
import { readCampaignView, type CampaignView, type SnapshotDeps } from "./campaign-snapshot.js";

export type ListCampaignsInput = {
  /** Campaigns per page. */
  pageSize: number;
  /** Only campaigns with a smaller id (the previous page's last id); undefined for the first page. */
  beforeId?: number;
  /** Only these campaigns, in one page; `pageSize` and `beforeId` are then ignored. */
  ids?: readonly number[];
};

/** Campaign views read at once: each takes a few MySQL queries, and the pool has 10 connections. */
const READ_CONCURRENCY = 4;

/**
 * Campaigns, newest first, each with its counts and state exactly as GetCampaign reports them
 * (`readCampaignView`, without the list of codes).
 */
export async function listCampaigns(
  deps: SnapshotDeps,
  input: ListCampaignsInput,
): Promise<{ views: CampaignView[]; hasMore: boolean }> {
  const rows = await withMysql("cannot list campaigns", async () => {
    const q = deps.db.select({ id: campaigns.id }).from(campaigns);
    if (input.ids) {
      if (input.ids.length === 0) return [];
      return q.where(inArray(campaigns.id, [...input.ids])).orderBy(desc(campaigns.id));
    }
    const page = input.beforeId === undefined ? q : q.where(lt(campaigns.id, input.beforeId));
    // One more than asked tells whether another page follows.
    return page.orderBy(desc(campaigns.id)).limit(input.pageSize + 1);
  });
  const hasMore = input.ids === undefined && rows.length > input.pageSize;
  const ids = rows.slice(0, hasMore ? input.pageSize : rows.length).map((r) => r.id);

  const views: CampaignView[] = new Array(ids.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < ids.length; i = next++) views[i] = await readCampaignView(deps, ids[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, ids.length) }, worker));
  return { views, hasMore };
}
