import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { readCampaignView, readCampaignWithCodes, type CampaignView, type SnapshotDeps } from "./campaign-snapshot.js";

export type CampaignAnswer = {
  view: CampaignView;
  /** Every issued code in issue order; undefined when the codes were not asked for. */
  codes: readonly string[] | undefined;
};

export type CampaignReaderOptions = {
  /** Most codes one answer lists (GET_CAMPAIGN_MAX_CODES); more is refused, naming ListIssuedCoupons. */
  maxCodes: number;
  /**
   * Snapshots with codes built at once in this process, over all campaigns: each holds up to
   * `maxCodes` codes in memory while it is read and answered, so this bounds that memory.
   */
  maxConcurrentBuilds?: number;
  /**
   * Answers with codes in flight at once in this process: each is ~2 MB at the ceiling while it is
   * encoded and written, several times that in transient buffers. Callers beyond wait their turn.
   */
  maxConcurrentAnswers?: number;
};

/** Longest one caller keeps its answer slot, in ms: a client that never reads cannot hold it. */
const ANSWER_SLOT_MAX_MS = 5_000;

type Build = { promise: Promise<{ view: CampaignView; codes: string[] }> };
type Share = { running: Build; queued: Build | undefined };

/**
 * GetCampaign's reads. Counts alone (`withCodes: false`) are read per call: they cost a few
 * indexed queries whatever the campaign's size. A read with codes is shared: concurrent calls for
 * one campaign get one snapshot, and a call only ever joins a snapshot that began after it
 * arrived, so read-your-writes holds (an issue answered before the call is in its snapshot). A
 * call that arrives while a snapshot is being built waits for the next one, which starts when the
 * running one ends and serves every call that arrived meanwhile: at most two per campaign exist.
 */
export class CampaignReader {
  /** Snapshots with codes read so far: fewer than the calls when calls shared them. */
  snapshotsTaken = 0;
  private readonly shares = new Map<number, Share>();
  private readonly maxBuilds: number;
  private builds = 0;
  private readonly waitingForBuild: Array<() => void> = [];
  private readonly maxAnswers: number;
  private answering = 0;
  private readonly waitingToAnswer: Array<() => void> = [];
  /** Each shared snapshot's codes in protobuf binary, encoded once for all its callers. */
  private readonly encoded = new WeakMap<readonly string[], Uint8Array>();

  constructor(
    private readonly deps: SnapshotDeps,
    private readonly options: CampaignReaderOptions,
  ) {
    this.maxBuilds = options.maxConcurrentBuilds ?? 2;
    this.maxAnswers = options.maxConcurrentAnswers ?? 4;
  }

  /**
   * `answered` resolves once the caller's answer has been written (or the call is gone): until
   * then the caller holds one of the answer slots. Without it a slot is held for one turn.
   */
  async read(id: number, withCodes: boolean, answered?: Promise<unknown>): Promise<CampaignAnswer> {
    if (!withCodes) return { view: await readCampaignView(this.deps, id), codes: undefined };
    const snapshot = await this.join(id);
    await this.answerSlot(answered);
    return snapshot;
  }

  /**
   * The codes as the bytes of field 2 (`repeated string coupon_codes`) of GetCampaignResponse,
   * less the first tag byte, encoded once per snapshot: protobuf-es writes a message's unknown
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

  private join(id: number): Promise<{ view: CampaignView; codes: string[] }> {
    const share = this.shares.get(id);
    if (share === undefined) {
      const running = this.build(id, undefined);
      this.shares.set(id, { running, queued: undefined });
      return running.promise;
    }
    // The running snapshot began before this call arrived: wait for the next one.
    share.queued ??= this.build(id, share.running);
    return share.queued.promise;
  }

  /** A snapshot that starts now, or once `after` has settled (whatever its outcome). */
  private build(id: number, after: Build | undefined): Build {
    const read = () =>
      this.limited(() => {
        this.snapshotsTaken++;
        return readCampaignWithCodes(this.deps, id, this.options.maxCodes);
      });
    const build: Build = { promise: after ? after.promise.then(read, read) : read() };
    const settle = () => {
      const share = this.shares.get(id);
      if (share?.running !== build) return;
      // The queued snapshot (if any) is now the running one; later calls queue behind it.
      if (share.queued) share.running = share.queued;
      else this.shares.delete(id);
      share.queued = undefined;
    };
    build.promise.then(settle, settle);
    return build;
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
