import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import {
  readCampaignCounts,
  readCampaignView,
  readCampaignWithCodes,
  type CampaignListing,
  type CampaignView,
  type SnapshotDeps,
} from "./campaign-snapshot.js";
import { SharedReads } from "./shared-reads.js";

export type CampaignAnswer = {
  view: CampaignView;
  /** Every issued code in issue order; undefined when the codes were not asked for. */
  codes: readonly string[] | undefined;
};

export type CampaignReaderOptions = {
  /** Most codes one answer lists (GET_CAMPAIGN_MAX_CODES); more is refused, naming ListIssuedCoupons. */
  maxCodes: number;
  /**
   * Listings with codes built at once in this process, over all campaigns: each holds up to
   * `maxCodes` codes in memory while it is read and answered, so this bounds that memory.
   */
  maxConcurrentBuilds?: number;
  /**
   * Answers with codes in flight at once in this process: each is ~2 MB at the ceiling while it is
   * encoded and written, several times that in transient buffers. Callers beyond wait their turn.
   */
  maxConcurrentAnswers?: number;
  /**
   * Listings with at least this many codes are kept for reuse (default 10,000): below it a fresh
   * listing costs about what checking a kept one does.
   */
  keepMinCodes?: number;
};

/** Longest one caller keeps its answer slot, in ms: a client that never reads cannot hold it. */
const ANSWER_SLOT_MAX_MS = 5_000;

/** Campaigns whose listing one process keeps; the least recently used goes first. */
const KEEP_MAX_CAMPAIGNS = 2;
/** A kept listing not reused for this long is dropped (at the next read with codes). */
const KEEP_IDLE_MS = 60_000;

type KeptListing = { codes: string[]; codesKey: string; usedAt: number };

/**
 * GetCampaign's reads. Counts alone (`withCodes: false`) are read per call: they cost a few
 * indexed queries whatever the campaign's size. A read with codes is shared (SharedReads):
 * concurrent calls for one campaign get one listing, read after they arrived. A large listing
 * made of MySQL's owner records alone (every issue persisted) is also kept: a later call first
 * reads the counts (shared the same way) and, when they name the same records (the codes key),
 * is answered with those counts and the kept codes instead of reading every code again. Many
 * readers of a campaign that stopped issuing so cost one listing, not one per wave of calls.
 */
export class CampaignReader {
  /** Listings with codes read so far: fewer than the calls when calls shared or reused them. */
  snapshotsTaken = 0;
  /** Calls answered with a kept listing after a counts read showed the same codes. */
  listingsReused = 0;
  private readonly listings = new SharedReads<CampaignListing>();
  private readonly counts = new SharedReads<{ view: CampaignView; codesKey: string }>();
  private readonly kept = new Map<number, KeptListing>();
  private readonly maxBuilds: number;
  private builds = 0;
  private readonly waitingForBuild: Array<() => void> = [];
  private readonly maxAnswers: number;
  private readonly keepMinCodes: number;
  private answering = 0;
  private readonly waitingToAnswer: Array<() => void> = [];
  /** Each listing's codes in protobuf binary, encoded once for all its callers. */
  private readonly encoded = new WeakMap<readonly string[], Uint8Array>();

  constructor(
    private readonly deps: SnapshotDeps,
    private readonly options: CampaignReaderOptions,
  ) {
    this.maxBuilds = options.maxConcurrentBuilds ?? 2;
    this.maxAnswers = options.maxConcurrentAnswers ?? 4;
    this.keepMinCodes = options.keepMinCodes ?? 10_000;
  }

  /**
   * `answered` resolves once the caller's answer has been written (or the call is gone): until
   * then the caller holds one of the answer slots. Without it a slot is held for one turn.
   */
  async read(id: number, withCodes: boolean, answered?: Promise<unknown>): Promise<CampaignAnswer> {
    if (!withCodes) return { view: await readCampaignView(this.deps, id), codes: undefined };
    const listing = await this.listing(id);
    await this.answerSlot(answered);
    return listing;
  }

  /**
   * The codes as the bytes of field 2 (`repeated string coupon_codes`) of GetCampaignResponse,
   * less the first tag byte, encoded once per listing: protobuf-es writes a message's unknown
   * fields as `tag + raw bytes`, so an answer that carries these as `$unknown` field 2 is the
   * same bytes on the wire as one listing the codes (field 1 comes first either way, field 3 is
   * false and so absent), at the cost of one copy (~3 ms for 100,000 codes) instead of encoding
   * each code again for each caller (~40 ms). Binary answers only: JSON answers list the codes.
   */
  encodedCodes(codes: readonly string[]): Uint8Array {
    let bytes = this.encoded.get(codes);
    if (bytes === undefined) {
      const w = new BinaryWriter();
      for (const code of codes) w.tag(2, WireType.LengthDelimited).string(code);
      // Field 2, length-delimited, is one tag byte (0x12): the writer of $unknown writes it.
      bytes = w.finish().subarray(1);
      this.encoded.set(codes, bytes);
    }
    return bytes;
  }

  private async listing(id: number): Promise<{ view: CampaignView; codes: string[] }> {
    const kept = this.keptListing(id);
    if (kept !== undefined) {
      // Counts read after this call arrived: the same codes key means the same codes now.
      const now = await this.counts.join(id, () => readCampaignCounts(this.deps, id));
      if (now.codesKey === kept.codesKey) {
        kept.usedAt = Date.now();
        // Re-inserted: the Map's order is the order of last use, oldest first.
        this.kept.delete(id);
        this.kept.set(id, kept);
        this.listingsReused++;
        return { view: now.view, codes: kept.codes };
      }
    }
    const listing = await this.listings.join(id, () =>
      this.limited(() => {
        this.snapshotsTaken++;
        return readCampaignWithCodes(this.deps, id, this.options.maxCodes);
      }),
    );
    if (listing.codesKey !== undefined && listing.codes.length >= this.keepMinCodes) this.keep(id, listing.codes, listing.codesKey);
    else this.kept.delete(id); // outdated by this listing, which is not worth keeping
    return listing;
  }

  private keptListing(id: number): KeptListing | undefined {
    const now = Date.now();
    for (const [keptId, k] of this.kept) if (now - k.usedAt > KEEP_IDLE_MS) this.kept.delete(keptId);
    return this.kept.get(id);
  }

  private keep(id: number, codes: string[], codesKey: string): void {
    this.kept.delete(id);
    this.kept.set(id, { codes, codesKey, usedAt: Date.now() });
    for (const oldest of this.kept.keys()) {
      if (this.kept.size <= KEEP_MAX_CAMPAIGNS) break;
      this.kept.delete(oldest);
    }
  }

  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    while (this.builds >= this.maxBuilds) await new Promise<void>((r) => this.waitingForBuild.push(r));
    this.builds++;
    try {
      return await fn();
    } finally {
      this.builds--;
      this.waitingForBuild.shift()?.();
    }
  }

  /**
   * Waits for one of `maxAnswers` slots. Each caller encodes and writes its own answer (connect-es
   * does, after `read` returns), so the slots bound the memory of answers in flight, and a freed
   * slot goes to the next caller a turn of the event loop later: with many callers of one
   * snapshot, IssueCoupon is served between their answers instead of after all of them.
   */
  private async answerSlot(answered: Promise<unknown> | undefined): Promise<void> {
    while (this.answering >= this.maxAnswers) await new Promise<void>((r) => this.waitingToAnswer.push(r));
    this.answering++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.answering--;
      const next = this.waitingToAnswer.shift();
      if (next) setImmediate(next);
    };
    if (answered === undefined) {
      setImmediate(release);
      return;
    }
    void answered.then(release, release);
    setTimeout(release, ANSWER_SLOT_MAX_MS).unref();
  }
}
