/**
 * How much of a shard's read capacity one reservoir process may use. A shard serves 5 GetRecords
 * calls/s and 2 MB/s to all its polling consumers together; AWS recommends each consumer of a
 * shared shard poll about once a second.
 */
export interface ReadRate {
  callsPerSecond: number;
  bytesPerSecond: number;
}

/** AWS's per-shard read limits (GetRecords), shared by every polling consumer of the shard. */
export const SHARD_READ_LIMITS: ReadRate = { callsPerSecond: 5, bytesPerSecond: 2 * 1024 * 1024 };

/** What one shard's reads used, for the summary and status. */
export interface ReadUsage {
  calls: number;
  bytes: number;
  /** GetRecords calls Kinesis refused (other consumers took the shard's capacity). */
  throttled: number;
  /** From the read's first call to when its calls and bytes are paid for at its rate. */
  seconds: number;
}

interface ShardState {
  /** Earliest start of the next call (calls are spaced by 1/callsPerSecond). */
  nextCallAt: number;
  /** When the bytes read so far are paid for at bytesPerSecond: the next call waits for it. */
  bytesPaidAt: number;
}

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/**
 * The read budget of one process, per shard, shared by every reader in it. A call waits for its
 * slot (1/callsPerSecond after the previous one) and for the bytes of earlier calls to be paid for
 * at bytesPerSecond, so calls and bytes stay at or below the rate averaged over any run of calls.
 * Slots are handed out when asked for, so concurrent readers of one shard take turns.
 */
export class ReadBudget {
  private readonly shards = new Map<string, ShardState>();

  constructor(private readonly clock: Clock) {}

  /** Waits until the shard may be read again at `rate`; call `afterCall` with what came back. */
  async beforeCall(shard: string, rate: ReadRate): Promise<void> {
    const state = this.stateOf(shard);
    const now = this.clock.now();
    const start = Math.max(now, state.nextCallAt, state.bytesPaidAt);
    state.nextCallAt = start + 1000 / rate.callsPerSecond;
    if (start > now) await this.clock.sleep(start - now);
  }

  /** Charges the bytes a call returned. */
  afterCall(shard: string, rate: ReadRate, bytes: number): void {
    const state = this.stateOf(shard);
    state.bytesPaidAt = Math.max(state.bytesPaidAt, this.clock.now()) + (bytes / rate.bytesPerSecond) * 1000;
  }

  /** When the shard's reads so far are paid for (calls and bytes): the end of a read's interval. */
  reservedUntil(shard: string): number {
    const state = this.stateOf(shard);
    return Math.max(state.nextCallAt, state.bytesPaidAt);
  }

  private stateOf(shard: string): ShardState {
    let state = this.shards.get(shard);
    if (!state) {
      state = { nextCallAt: 0, bytesPaidAt: 0 };
      this.shards.set(shard, state);
    }
    return state;
  }
}
