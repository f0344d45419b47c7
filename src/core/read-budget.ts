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
  /** Average size of the shard's records so far (null before the first record). */
  bytesPerRecord: number | null;
}

/**
 * The GetRecords Limit of a shard's first call in a process, before its record sizes are known:
 * small, so that one answer cannot put the shard's shared 2 MiB/s deep into debt (10 records of
 * 25 KiB: 250 KiB; only records near the 1 MiB maximum could make it 10 MiB).
 */
export const FIRST_CALL_RECORDS = 10;

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

  /**
   * Waits until the shard may be read again at `rate`, then true: call `afterCall` with what came
   * back. False at once, without taking the slot, when the slot starts at or after `deadline`: a
   * large answer's bytes can hold the next call longer than an invocation has left.
   */
  async beforeCall(shard: string, rate: ReadRate, deadline = Number.POSITIVE_INFINITY): Promise<boolean> {
    const state = this.stateOf(shard);
    const now = this.clock.now();
    const start = Math.max(now, state.nextCallAt, state.bytesPaidAt);
    if (start >= deadline) return false;
    state.nextCallAt = start + 1000 / rate.callsPerSecond;
    if (start > now) await this.clock.sleep(start - now);
    return true;
  }

  /**
   * The GetRecords Limit that keeps one answer within one call's share of the bytes
   * (bytesPerSecond / callsPerSecond), from the shard's record sizes so far. Averages alone are not
   * enough: a 10 MB answer is within 1 MiB/s over 10 s, but it puts the shard's shared byte
   * allowance into debt at once, and every other consumer of the shard is throttled meanwhile.
   */
  recordsPerCall(shard: string, rate: ReadRate, maxRecords: number): number {
    const { bytesPerRecord } = this.stateOf(shard);
    if (bytesPerRecord === null) return Math.min(maxRecords, FIRST_CALL_RECORDS);
    const perCall = rate.bytesPerSecond / rate.callsPerSecond;
    return Math.max(1, Math.min(maxRecords, Math.floor(perCall / bytesPerRecord)));
  }

  /** Charges the bytes a call returned, and learns the shard's record size from them. */
  afterCall(shard: string, rate: ReadRate, bytes: number, records: number): void {
    const state = this.stateOf(shard);
    state.bytesPaidAt = Math.max(state.bytesPaidAt, this.clock.now()) + (bytes / rate.bytesPerSecond) * 1000;
    if (records > 0) {
      const size = bytes / records;
      state.bytesPerRecord = state.bytesPerRecord === null ? size : (state.bytesPerRecord + size) / 2;
    }
  }

  /** When the shard's reads so far are paid for (calls and bytes): the end of a read's interval. */
  reservedUntil(shard: string): number {
    const state = this.stateOf(shard);
    return Math.max(state.nextCallAt, state.bytesPaidAt);
  }

  private stateOf(shard: string): ShardState {
    let state = this.shards.get(shard);
    if (!state) {
      state = { nextCallAt: 0, bytesPaidAt: 0, bytesPerRecord: null };
      this.shards.set(shard, state);
    }
    return state;
  }
}
