import type { CampaignFigures } from "./campaign-figures.js";

/** Where the feed reads from: the newest campaigns' ids, and the figures of given campaigns. */
export type FiguresSource = {
  newestIds(limit: number): Promise<number[]>;
  read(ids: readonly number[]): Promise<Map<number, CampaignFigures>>;
};

/** One reading of a campaign, with its issue rate since the reading before. */
export type Sample = CampaignFigures & {
  /** Codes issued per second since the previous reading; null for the first one. */
  rate: number | null;
};

/** A point of a campaign's chart. */
export type ChartPoint = { atMs: number; issued: number; remaining: number; rate: number | null };

export type CampaignEvent =
  | { kind: "sample"; sample: Sample }
  | { kind: "missing"; id: number }
  | { kind: "unavailable"; message: string }
  | { kind: "closed" };

export type ListEvent =
  | { kind: "list"; campaigns: Sample[] }
  | { kind: "unavailable"; message: string }
  | { kind: "closed" };

export type LiveFeedOptions = {
  /** Least time between two reads of the figures, in ms. */
  intervalMs: number;
  /** How far back a campaign's chart reaches, in ms. */
  historyMs: number;
  /** Campaigns on the list page, newest first. */
  listSize: number;
  /** What a listener is told when a read fails: a sentence safe to show (no driver message). */
  describeError: (err: unknown) => string;
};

const DEFAULTS: LiveFeedOptions = {
  intervalMs: 1000,
  historyMs: 5 * 60_000,
  listSize: 50,
  describeError: () => "the live figures cannot be read right now",
};

type Series = { points: ChartPoint[]; latest: Sample | undefined };

/**
 * The console's one source of live figures in this process, however many consoles are open.
 * While anyone watches, one tick per `intervalMs` reads every watched campaign once (the list
 * page's campaigns and each open campaign page's) and hands the same sample to every watcher;
 * when nobody watches, nothing is read. Ticks never overlap and start at least `intervalMs`
 * apart, so no campaign is read more often than that whatever the number of watchers.
 */
export class LiveFeed {
  private readonly options: LiveFeedOptions;
  private readonly listWatchers = new Set<(e: ListEvent) => void>();
  private readonly campaignWatchers = new Map<number, Set<(e: CampaignEvent) => void>>();
  private readonly series = new Map<number, Series>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  /** When the last tick began reading (performance.now(), ms). */
  private lastTickAt = -Infinity;
  private closed = false;

  constructor(
    private readonly source: FiguresSource,
    options: Partial<LiveFeedOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** The list page: the newest campaigns' samples once per tick. Returns the unsubscribe. */
  watchList(listener: (e: ListEvent) => void): () => void {
    if (this.closed) {
      listener({ kind: "closed" });
      return () => {};
    }
    this.listWatchers.add(listener);
    this.schedule();
    return () => this.listWatchers.delete(listener);
  }

  /**
   * A campaign page: its chart so far (what this process read in the last `historyMs`, possibly
   * nothing) and then one event per tick.
   */
  watchCampaign(id: number, listener: (e: CampaignEvent) => void): { history: ChartPoint[]; stop: () => void } {
    if (this.closed) {
      listener({ kind: "closed" });
      return { history: [], stop: () => {} };
    }
    let set = this.campaignWatchers.get(id);
    if (!set) this.campaignWatchers.set(id, (set = new Set()));
    set.add(listener);
    this.schedule();
    const history = [...(this.series.get(id)?.points ?? [])];
    return {
      history,
      stop: () => {
        set.delete(listener);
        if (set.size === 0 && this.campaignWatchers.get(id) === set) this.campaignWatchers.delete(id);
      },
    };
  }

  /** Ends every watch (their streams close) and reads nothing more: the service is stopping. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const l of this.listWatchers) l({ kind: "closed" });
    for (const set of this.campaignWatchers.values()) for (const l of set) l({ kind: "closed" });
    this.listWatchers.clear();
    this.campaignWatchers.clear();
  }

  private watched(): boolean {
    return this.listWatchers.size > 0 || this.campaignWatchers.size > 0;
  }

  /** Arms the next tick, no earlier than `intervalMs` after the last one began. */
  private schedule(): void {
    if (this.timer || this.ticking || this.closed || !this.watched()) return;
    const waitMs = Math.max(0, this.lastTickAt + this.options.intervalMs - performance.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tick();
    }, waitMs);
    // A console left open must not keep a stopping process alive.
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.closed || !this.watched()) return;
    this.ticking = true;
    this.lastTickAt = performance.now();
    try {
      const listIds = this.listWatchers.size > 0 ? await this.source.newestIds(this.options.listSize) : [];
      const ids = [...new Set([...listIds, ...this.campaignWatchers.keys()])];
      // The next tick counts from here: the reads themselves are then `intervalMs` apart,
      // however long the list query before them took.
      this.lastTickAt = performance.now();
      const figures = await this.source.read(ids);
      if (this.closed) return;
      for (const [id, f] of figures) this.record(id, f);
      this.prune();
      const list = listIds.flatMap((id) => this.series.get(id)?.latest ?? []);
      for (const l of this.listWatchers) l({ kind: "list", campaigns: list });
      for (const [id, set] of this.campaignWatchers) {
        const latest = figures.has(id) ? this.series.get(id)?.latest : undefined;
        const e: CampaignEvent = latest ? { kind: "sample", sample: latest } : { kind: "missing", id };
        for (const l of set) l(e);
      }
    } catch (err) {
      const e = { kind: "unavailable", message: this.options.describeError(err) } as const;
      for (const l of this.listWatchers) l(e);
      for (const set of this.campaignWatchers.values()) for (const l of set) l(e);
    } finally {
      this.ticking = false;
      this.schedule();
    }
  }

  private record(id: number, f: CampaignFigures): void {
    let s = this.series.get(id);
    if (!s) this.series.set(id, (s = { points: [], latest: undefined }));
    const prev = s.latest;
    const dtS = prev ? (f.atMs - prev.atMs) / 1000 : 0;
    // A rebuild can lower `issued`; a rate is never negative. After a gap (nobody watched) the
    // average over the gap would be no rate of the moment: none is given.
    const fresh = prev !== undefined && dtS > 0 && dtS * 1000 <= 5 * this.options.intervalMs;
    const rate = fresh ? Math.max(0, f.issued - prev.issued) / dtS : null;
    s.latest = { ...f, rate };
    s.points.push({ atMs: f.atMs, issued: f.issued, remaining: f.remaining, rate });
  }

  /** Drops chart points older than `historyMs`, and campaigns left with none. */
  private prune(): void {
    for (const [id, s] of this.series) {
      const newest = s.points[s.points.length - 1]?.atMs ?? 0;
      const cut = s.points.findIndex((p) => p.atMs >= newest - this.options.historyMs);
      if (cut > 0) s.points.splice(0, cut);
      // Not read for a whole history span: nobody watches it any more.
      if (newest < Date.now() - this.options.historyMs) this.series.delete(id);
    }
  }
}
