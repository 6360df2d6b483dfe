import { AppError, failedPrecondition } from "../errors.js";

/**
 * The answers of a campaign that is not issuing, shared by IssueCoupon and the admin methods so
 * that a client sees one wording whichever call it made.
 */
export const campaignLoading = (id: number) =>
  failedPrecondition(`campaign ${id} is still loading its coupon pool; try again shortly`);

export const campaignNotStarted = (id: number, startMs: number) =>
  failedPrecondition(`campaign ${id} has not started yet; it opens at ${new Date(startMs).toISOString()}`);

export const campaignPaused = (id: number) => failedPrecondition(`campaign ${id} is paused`);

export const campaignEnded = (id: number, endMs: number) =>
  failedPrecondition(`campaign ${id} has ended; it closed at ${new Date(endMs).toISOString()}`);

export const campaignCancelled = (id: number) => failedPrecondition(`campaign ${id} was cancelled`);

export const campaignSoldOut = (id: number) => new AppError("resource_exhausted", `campaign ${id} is sold out`);
