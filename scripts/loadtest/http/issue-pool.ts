import { KeepAliveConnection, TransportError } from "./keep-alive-connection.js";
import { issueOutcomeOf, type IssueOutcome } from "./connect-outcome.js";

export type IssuePoolOptions = {
  /** Connections, which is also the most calls in flight at once. */
  connections: number;
  /** A call unanswered this long fails as deadline_exceeded, in ms. */
  timeoutMs: number;
};

const ISSUE_PATH = "/couponpb.CouponService/IssueCoupon";

/**
 * IssueCoupon over a fixed set of keep-alive connections. A call waits in a FIFO queue while every
 * connection is busy, so an open-loop schedule that outruns the service shows up as queueing
 * (and as schedule lag), never as more sockets.
 */
export class IssuePool {
  private readonly idle: KeepAliveConnection[];
  private readonly all: KeepAliveConnection[];
  private readonly waiting: Array<(c: KeepAliveConnection) => void> = [];
  private readonly host: string;
  private readonly requestHead: string;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    baseUrl: string,
    private readonly options: IssuePoolOptions,
  ) {
    const url = new URL(baseUrl);
    if (url.protocol !== "http:") throw new Error(`only http:// URLs are supported, got ${baseUrl}`);
    this.host = url.host;
    const port = Number(url.port || 80);
    this.all = Array.from({ length: options.connections }, () => new KeepAliveConnection(url.hostname, port));
    this.idle = [...this.all];
    const prefix = url.pathname.replace(/\/$/, "");
    this.requestHead = `POST ${prefix}${ISSUE_PATH} HTTP/1.1\r\nHost: ${this.host}\r\ncontent-type: application/json\r\ncontent-length: `;
    this.sweeper = setInterval(() => this.expireSlowCalls(), Math.min(1000, options.timeoutMs));
    this.sweeper.unref();
  }

  /** Opens every connection before the timed part starts. */
  async warm(): Promise<void> {
    await Promise.all(this.all.map((c) => c.open()));
  }

  async issue(campaignId: string, userId: string): Promise<IssueOutcome> {
    const body = `{"campaignId":"${campaignId}","userId":${JSON.stringify(userId)}}`;
    const request = `${this.requestHead}${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const conn = this.idle.pop() ?? (await new Promise<KeepAliveConnection>((r) => this.waiting.push(r)));
    try {
      const res = await conn.send(request);
      return issueOutcomeOf(res.status, res.body);
    } catch (err) {
      if (!(err instanceof TransportError)) throw err;
      // Connect clients report a call that never got an answer as unavailable, a timeout as deadline_exceeded.
      return { ok: false, error: err.timedOut ? "deadline_exceeded" : "unavailable", message: err.message };
    } finally {
      const next = this.waiting.shift();
      if (next) next(conn);
      else this.idle.push(conn);
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const c of this.all) c.close();
  }

  private expireSlowCalls(): void {
    const now = performance.now();
    for (const c of this.all) {
      if (c.busySinceMs > 0 && now - c.busySinceMs > this.options.timeoutMs) {
        c.abort(new TransportError(`no answer within ${this.options.timeoutMs} ms`, true));
      }
    }
  }
}
