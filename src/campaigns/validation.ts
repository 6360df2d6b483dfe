import { invalidArgument } from "../errors.js";
import { MAX_SHARDS } from "./sub-pools.js";

/** Bounds on what a campaign may be. They are part of the API: docs/api.md lists them. */
export const LIMITS = {
  nameMaxChars: 200,
  totalMin: 1,
  totalMax: 10_000_000,
  /** A start instant this far from now, either way, is almost surely a mistake. */
  startMaxPastMs: 366 * 24 * 3600 * 1000,
  startMaxFutureMs: 5 * 366 * 24 * 3600 * 1000,
  userIdMaxChars: 128,
  pageSizeMax: 1000,
  pageSizeDefault: 100,
} as const;

export type CreateCampaignInput = {
  name: string;
  startTimeMs: number | undefined;
  /** Optional: undefined for a campaign that runs until sold out. */
  endTimeMs?: number | undefined;
  totalCoupons: bigint;
  /** Optional: sub-pools (src/campaigns/sub-pools.ts); 0 or undefined means one pool. */
  shards?: number | undefined;
};
export type ValidCampaign = { name: string; startTimeMs: number; endTimeMs: number | null; totalCoupons: number; shards: number };

// C0/C1 controls and unpaired surrogates make names that cannot be shown or stored faithfully.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

export function validateCreateCampaign(input: CreateCampaignInput, nowMs: number): ValidCampaign {
  const name = input.name.trim();
  if (name.length === 0) throw invalidArgument("name must not be empty");
  if ([...name].length > LIMITS.nameMaxChars) {
    throw invalidArgument(`name must be at most ${LIMITS.nameMaxChars} characters`);
  }
  if (CONTROL_CHARS.test(name) || !name.isWellFormed()) {
    throw invalidArgument("name must not contain control characters or broken Unicode");
  }
  if (input.startTimeMs === undefined) throw invalidArgument("start_time is required");
  if (!Number.isFinite(input.startTimeMs)) throw invalidArgument("start_time is not a valid instant");
  if (input.startTimeMs < nowMs - LIMITS.startMaxPastMs) {
    throw invalidArgument("start_time must not be more than a year in the past");
  }
  if (input.startTimeMs > nowMs + LIMITS.startMaxFutureMs) {
    throw invalidArgument("start_time must not be more than five years in the future");
  }
  const endTimeMs = validateEndTime(input.endTimeMs, input.startTimeMs, nowMs);
  const total = input.totalCoupons;
  if (total < BigInt(LIMITS.totalMin) || total > BigInt(LIMITS.totalMax)) {
    throw invalidArgument(`total_coupons must be between ${LIMITS.totalMin} and ${LIMITS.totalMax}, got ${total}`);
  }
  const shards = validateShards(input.shards ?? 0, Number(total));
  return { name, startTimeMs: input.startTimeMs, endTimeMs, totalCoupons: Number(total), shards };
}

/** 0 (the field left out) means one pool; every sub-pool must get at least one code. */
function validateShards(shards: number, total: number): number {
  if (shards === 0) return 1;
  if (!Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS) {
    throw invalidArgument(`shards must be between 1 and ${MAX_SHARDS}, got ${shards}`);
  }
  if (shards > total) throw invalidArgument(`shards (${shards}) must not exceed total_coupons (${total}): every sub-pool needs a code`);
  return shards;
}

/** end_time is optional; when given it must be after start_time and not already past. */
function validateEndTime(endTimeMs: number | undefined, startTimeMs: number, nowMs: number): number | null {
  if (endTimeMs === undefined) return null;
  if (!Number.isFinite(endTimeMs)) throw invalidArgument("end_time is not a valid instant");
  if (endTimeMs <= startTimeMs) throw invalidArgument("end_time must be after start_time");
  if (endTimeMs <= nowMs) throw invalidArgument("end_time must be in the future");
  if (endTimeMs > nowMs + LIMITS.startMaxFutureMs) {
    throw invalidArgument("end_time must not be more than five years in the future");
  }
  return endTimeMs;
}

const MAX_CAMPAIGN_ID = BigInt(Number.MAX_SAFE_INTEGER);
/** Whitespace as String.prototype.trim sees it; a test allocates nothing, a trim() would. */
const ONLY_WHITESPACE = /^\s+$/;

/** Campaign ids are positive; 0 is what an absent field decodes to. */
export function validateCampaignId(id: bigint): number {
  if (id <= 0n) throw invalidArgument(`campaign_id must be a positive integer, got ${id}`);
  if (id > MAX_CAMPAIGN_ID) throw invalidArgument(`campaign_id ${id} is out of range`);
  return Number(id);
}

export function validateUserId(userId: string): string {
  if (userId.length > LIMITS.userIdMaxChars) {
    throw invalidArgument(`user_id must be at most ${LIMITS.userIdMaxChars} characters`);
  }
  if (userId.length > 0 && (CONTROL_CHARS.test(userId) || !userId.isWellFormed())) {
    throw invalidArgument("user_id must not contain control characters or broken Unicode");
  }
  // Ids are opaque (never trimmed or normalised: two spellings are two users, as in connect-go),
  // but one made only of whitespace is a client bug, not a user; empty still means anonymous.
  if (userId.length > 0 && ONLY_WHITESPACE.test(userId)) {
    throw invalidArgument("user_id must not be only whitespace (leave it empty for an anonymous caller)");
  }
  return userId;
}

export function validatePageSize(pageSize: number): number {
  if (pageSize < 0 || pageSize > LIMITS.pageSizeMax) {
    throw invalidArgument(`page_size must be between 0 and ${LIMITS.pageSizeMax}, got ${pageSize}`);
  }
  return pageSize === 0 ? LIMITS.pageSizeDefault : pageSize;
}
