// Campaign set-up for setup(): create, wait until the pool is loaded, wait for the opening.
import { sleep } from "k6";
import { call } from "./connect.js";

/** `-e SHARDS=K` splits every campaign a script creates into K sub-pools; unset or 1: one pool. */
export const SHARDS = Number(__ENV.SHARDS || 1);

/** Creates a campaign opening at `startMs` (ms since epoch) and returns its id (a string: int64 in JSON). */
export function createCampaign(name, startMs, totalCoupons) {
  const request = { name, startTime: new Date(startMs).toISOString(), totalCoupons };
  // Sent only when asked for, so a run without SHARDS is the same request as before.
  if (SHARDS > 1) request.shards = SHARDS;
  const res = call("CreateCampaign", request);
  return res.campaignId;
}

/** GetCampaign's campaign, with int64 fields as numbers (zero values are omitted in JSON). */
export function getCampaign(id) {
  const res = call("GetCampaign", { campaignId: id });
  const c = res.campaign || {};
  return {
    id: c.id,
    state: c.state || "CAMPAIGN_STATE_UNSPECIFIED",
    totalCoupons: Number(c.totalCoupons || 0),
    issued: Number(c.issued || 0),
    remaining: Number(c.remaining || 0),
    couponCodes: res.couponCodes || [],
  };
}

/** Polls until no campaign in `ids` reads LOADING; bounded by `timeoutS`. */
export function waitLoaded(ids, timeoutS) {
  const deadline = Date.now() + timeoutS * 1000;
  for (const id of ids) {
    while (getCampaign(id).state === "CAMPAIGN_STATE_LOADING") {
      if (Date.now() > deadline) throw new Error(`campaign ${id} still loading after ${timeoutS} s`);
      sleep(0.05);
    }
  }
}

/** Sleeps until the wall-clock instant `atMs` (at once if it has passed). */
export function sleepUntil(atMs) {
  const ms = atMs - Date.now();
  if (ms > 0) sleep(ms / 1000);
}

/** Every issued coupon of a campaign (code, userId, issuedAt ms, sequence), page by page. */
export function listIssued(id, maxPages) {
  const out = [];
  let pageToken = "";
  for (let page = 0; page < maxPages; page++) {
    const res = call("ListIssuedCoupons", { campaignId: id, pageSize: 1000, pageToken });
    for (const c of res.coupons || []) {
      out.push({ code: c.code, userId: c.userId || "", issuedAtMs: Date.parse(c.issuedAt), sequence: Number(c.sequence || 0) });
    }
    pageToken = res.nextPageToken || "";
    if (pageToken === "") return out;
  }
  throw new Error(`ListIssuedCoupons of campaign ${id} still had pages after ${maxPages}`);
}

/**
 * setup()'s usual opening: `count` campaigns of `coupons` opening together `leadMs` from now;
 * returns their ids once their pools are loaded and the opening has come.
 */
export function openCampaigns(name, count, coupons, leadMs) {
  const startMs = Date.now() + leadMs;
  const ids = [];
  for (let k = 0; k < count; k++) ids.push(createCampaign(`${name} ${Date.now()} #${k + 1}`, startMs, coupons));
  waitLoaded(ids, 120);
  sleepUntil(startMs);
  return ids;
}
