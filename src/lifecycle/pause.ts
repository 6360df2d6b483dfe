import { readCampaignView, type CampaignView } from "../campaigns/campaign-snapshot.js";
import { setPaused } from "../campaigns/repository.js";
import { withMysql } from "../db/errors.js";
import type { LifecycleDeps } from "./deps.js";
import { setCampaignState } from "./set-state.js";

export type PauseResult = { changed: boolean; view: CampaignView };

/**
 * PauseCampaign: from the moment this returns, IssueCoupon answers "paused" and the pool is not
 * touched. Pausing a paused campaign changes nothing; a cancelled one cannot be paused. A
 * campaign split into sub-pools is paused on every sub-pool before this returns
 * (`setCampaignState`), so no walk finds one still issuing.
 */
export function pauseCampaign(deps: LifecycleDeps, id: number): Promise<PauseResult> {
  return switchPause(deps, id, true);
}

/**
 * ResumeCampaign: issuing continues with the next code in the pool, so no code is skipped and
 * none is issued twice. Resuming an open campaign changes nothing; a cancelled one stays so.
 */
export function resumeCampaign(deps: LifecycleDeps, id: number): Promise<PauseResult> {
  return switchPause(deps, id, false);
}

async function switchPause(deps: LifecycleDeps, id: number, paused: boolean): Promise<PauseResult> {
  const { changed } = await setCampaignState(deps, id, paused ? "paused" : "ready");
  // MySQL's copy is written whether or not Redis changed: a retry repairs a copy a crash missed.
  await withMysql(`${paused ? "paused" : "resumed"} in Redis but not yet recorded in MySQL; call again`, () =>
    setPaused(deps.db, id, paused),
  );
  return { changed, view: await readCampaignView(deps, id) };
}
