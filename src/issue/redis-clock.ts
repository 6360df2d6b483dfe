import type { RedisClient } from "../redis/client.js";

/**
 * Redis's clock as seen from this process: the start and end instants are decided by Redis's
 * clock (issue-coupon.lua), so an instance that answers "not started" by itself must know how
 * far its own clock is from Redis's. Sampled with TIME every few seconds; between samples the
 * process's monotonic clock carries it, so a wall-clock jump here changes nothing.
 */
export class RedisClock {
  /** Redis's time (ms since epoch) at `sampledAt` (performance.now()), and its uncertainty. */
  private redisMs = 0;
  private sampledAt = -Infinity;
  private uncertaintyMs = Infinity;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly everyMs = 5000,
  ) {}

  start(): void {
    const tick = () => {
      void this.sample().catch(() => {
        this.uncertaintyMs = Infinity; // unknown: never answer from it
      });
      this.timer = setTimeout(tick, this.everyMs);
      this.timer.unref();
    };
    tick();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  async sample(): Promise<void> {
    const sent = performance.now();
    const [s, us] = await this.redis.time();
    const received = performance.now();
    const half = (received - sent) / 2;
    this.redisMs = Number(s) * 1000 + Number(us) / 1000;
    this.sampledAt = sent + half;
    this.uncertaintyMs = half + 1; // + 1 ms: TIME's own resolution and the timers'
  }

  /**
   * True only while Redis's clock is certainly before `instantMs` by `marginMs`: the latest
   * possible Redis time, given the sample's round trip, is still before it. Never true without a
   * sample from the last minute.
   */
  certainlyBefore(instantMs: number, marginMs: number): boolean {
    const age = performance.now() - this.sampledAt;
    if (!(age < 60_000)) return false;
    return this.redisMs + age + this.uncertaintyMs + marginMs < instantMs;
  }
}
