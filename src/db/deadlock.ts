/** MySQL's "Deadlock found when trying to get lock; try restarting transaction". */
const ER_LOCK_DEADLOCK = 1213;

/** True when InnoDB chose this transaction as a deadlock victim: it was rolled back, and may simply run again. */
export function isDeadlock(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if ((e as { errno?: number }).errno === ER_LOCK_DEADLOCK) return true;
  }
  return false;
}

/**
 * Runs a whole transaction again when InnoDB rolled it back as a deadlock victim (the statement
 * that failed and everything before it are gone, so re-running from the start is the only
 * correct retry). Any other error, or a deadlock on the last attempt, is thrown.
 */
export async function retryOnDeadlock<T>(transaction: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (err) {
      if (!isDeadlock(err) || attempt >= attempts) throw err;
    }
  }
}
