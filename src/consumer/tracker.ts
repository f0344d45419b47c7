import type { DecodedRecord } from './decode';
import { comparePositions, type PositionComparator, type SourcePosition } from './position';

/** Where a tracker remembers, per partition key, the position last applied to that key's state. */
export interface PositionStore {
  get(key: string): SourcePosition | undefined;
  set(key: string, position: SourcePosition): void;
}

/** The same, for stores that live next to the state (a table row, a file): possibly async. */
export interface AsyncPositionStore {
  get(key: string): Promise<SourcePosition | undefined> | SourcePosition | undefined;
  set(key: string, position: SourcePosition): Promise<void> | void;
}

/** The default store: a Map in memory (lost with the process: persist it with your state). */
export class MapPositionStore implements PositionStore {
  constructor(readonly positions: Map<string, SourcePosition> = new Map()) {}

  get(key: string): SourcePosition | undefined {
    return this.positions.get(key);
  }

  set(key: string, position: SourcePosition): void {
    this.positions.set(key, position);
  }
}

export interface TrackerOptions<Store> {
  /** Default: a new `MapPositionStore`. */
  store?: Store;
  /** Default: `comparePositions` (shard index order); pass `createPositionComparator(lineage)`. */
  compare?: PositionComparator;
}

/** True when the record's replay was annotated `{"forceOverwrite": true}`. */
export function isForceOverwrite(record: DecodedRecord): boolean {
  return record.annotations.forceOverwrite === true;
}

function decide(
  compare: PositionComparator,
  record: DecodedRecord,
  last: SourcePosition | undefined,
): boolean {
  return isForceOverwrite(record) || last === undefined || compare(record.position, last) > 0;
}

/** The position to remember after applying: the newer of the two (so a forced old record never rewinds it). */
function remembered(
  compare: PositionComparator,
  record: DecodedRecord,
  last: SourcePosition | undefined,
): SourcePosition | undefined {
  return last === undefined || compare(record.position, last) > 0 ? record.position : undefined;
}

/**
 * The consistency rule, per partition key: a record is applied to its key's state only if its
 * original position (`DecodedRecord.position`) is newer than the position last applied for that
 * key — unless its replay is annotated `forceOverwrite: true`. A forced record is always
 * applied, but the remembered position becomes the newer of the two (the max), not the forced
 * record's: records older than what was already applied still do not apply after it, and the
 * next live record (newer) does. A record at the same position as the last applied one (a
 * redelivery, or the replayed copy of a record already read live) is not applied again.
 *
 * Guarantee: once the live stream is quiet and a replay (envelope format, without
 * forceOverwrite) has finished, a cooperating consumer's state for every key equals the state
 * it would have after reading every record of the stream in order — whatever interleaving of
 * live and replayed records it saw.
 *
 * A cooperating consumer:
 * - passes every record it reads, live and replayed, through the tracker and changes a key's
 *   state only for the records the tracker lets through, marking each one applied;
 * - keeps state that the newest applied record determines (each record is the key's new
 *   value: upsert, delete, snapshot — "last writer wins"). Without forceOverwrite the rule never
 *   applies a record twice and never goes back in time, but a replayed record may overtake live records the
 *   consumer has not read yet, which are then skipped as older: state that folds every record
 *   (counters, sums of deltas) is not covered by the guarantee;
 * - keeps the remembered positions as long as the state (persist the store next to the
 *   state; apply first, then remember — a crash in between re-applies the same record, which
 *   is harmless for such state);
 * - has read every live record of the key by then (parents before children, as Lambda and the
 *   KCL do), from the same stream the replay's source positions refer to.
 *
 * Raw-format replays are not covered: they look like new live records (see `decodeRecord`).
 */
export class KeyStateTracker {
  readonly store: PositionStore;
  private readonly compare: PositionComparator;

  constructor(options: TrackerOptions<PositionStore> = {}) {
    this.store = options.store ?? new MapPositionStore();
    this.compare = options.compare ?? comparePositions;
  }

  /** Whether the record is to be applied to its key's state now. */
  shouldApply(record: DecodedRecord): boolean {
    return decide(this.compare, record, this.store.get(record.partitionKey));
  }

  /** Remembers that the record was applied (call after applying it). */
  markApplied(record: DecodedRecord): void {
    const next = remembered(this.compare, record, this.store.get(record.partitionKey));
    if (next !== undefined) this.store.set(record.partitionKey, next);
  }

  /**
   * Applies the record through `apply` if the rule allows it, then remembers it. Returns
   * whether it was applied. If `apply` throws, nothing is remembered and the error propagates.
   */
  offer(record: DecodedRecord, apply: (record: DecodedRecord) => void): boolean {
    if (!this.shouldApply(record)) return false;
    apply(record);
    this.markApplied(record);
    return true;
  }

  /** The position last applied for a key (undefined if none). */
  lastApplied(key: string): SourcePosition | undefined {
    return this.store.get(key);
  }
}

/**
 * `KeyStateTracker` over an async store, with an async `apply`. `offer` runs the records of one
 * key one after another (decide, apply, remember), so concurrent offers cannot interleave for a
 * key; `shouldApply` / `markApplied` on their own are not serialized.
 */
export class AsyncKeyStateTracker {
  readonly store: AsyncPositionStore;
  private readonly compare: PositionComparator;
  private readonly tails = new Map<string, Promise<void>>();

  constructor(options: TrackerOptions<AsyncPositionStore> = {}) {
    this.store = options.store ?? new MapPositionStore();
    this.compare = options.compare ?? comparePositions;
  }

  async shouldApply(record: DecodedRecord): Promise<boolean> {
    return decide(this.compare, record, await this.store.get(record.partitionKey));
  }

  async markApplied(record: DecodedRecord): Promise<void> {
    const next = remembered(this.compare, record, await this.store.get(record.partitionKey));
    if (next !== undefined) await this.store.set(record.partitionKey, next);
  }

  async offer(
    record: DecodedRecord,
    apply: (record: DecodedRecord) => Promise<void> | void,
  ): Promise<boolean> {
    const key = record.partitionKey;
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => done);
    this.tails.set(key, tail);
    await previous;
    try {
      if (!(await this.shouldApply(record))) return false;
      await apply(record);
      await this.markApplied(record);
      return true;
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  async lastApplied(key: string): Promise<SourcePosition | undefined> {
    return this.store.get(key);
  }
}
