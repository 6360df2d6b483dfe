type Read<T> = { promise: Promise<T> };
type Share<T> = { running: Read<T>; queued: Read<T> | undefined };

/**
 * Concurrent reads of one campaign, shared: a call only ever joins a read that began after it
 * arrived, so read-your-writes holds (an issue answered before the call is in what it gets). A
 * call that arrives while a read runs waits for the next one, which starts when the running one
 * ends and serves every call that arrived meanwhile: at most two reads per campaign exist.
 */
export class SharedReads<T> {
  private readonly shares = new Map<number, Share<T>>();

  join(id: number, read: () => Promise<T>): Promise<T> {
    const share = this.shares.get(id);
    if (share === undefined) {
      const running = this.start(id, read, undefined);
      this.shares.set(id, { running, queued: undefined });
      return running.promise;
    }
    // The running read began before this call arrived: wait for the next one.
    share.queued ??= this.start(id, read, share.running);
    return share.queued.promise;
  }

  /** A read that starts now, or once `after` has settled (whatever its outcome). */
  private start(id: number, read: () => Promise<T>, after: Read<T> | undefined): Read<T> {
    const started: Read<T> = { promise: after ? after.promise.then(read, read) : read() };
    const settle = () => {
      const share = this.shares.get(id);
      if (share?.running !== started) return;
      // The queued read (if any) is now the running one; later calls queue behind it.
      if (share.queued) share.running = share.queued;
      else this.shares.delete(id);
      share.queued = undefined;
    };
    started.promise.then(settle, settle);
    return started;
  }
}
