import { normalizePrefix } from './layout';

/**
 * Data gaps (DESIGN.md "Gap detection"): records Kinesis deleted before they were archived.
 *
 * An open gap is a field of the shard's checkpoint (`openGap`): written by the run that detects
 * it, refreshed by every run that detects it again, and removed only by an acknowledgment, which
 * writes the gap ledger entry first:
 *
 *   {prefix}gaps/stream={stream}/{shardId}/{from}-{to}.json
 *
 * The missing records lie after `from` (the last archived record; when `fromArchived` is false,
 * `from` is the first missing record itself) and before `to` (the oldest record still in the shard
 * when the gap was acknowledged, the first one archived after the gap).
 */

/** Where the records of a gap start and end, as the archiver found them. */
export interface GapRange {
  /** The last archived sequence number, or (fromArchived false) the first missing one. */
  from: string;
  /** True when `from` is archived (the missing records are strictly after it). */
  fromArchived: boolean;
  /** The oldest record still in the shard past the gap; null when none was seen. */
  to: string | null;
}

/** A gap the archiver detected and nobody has acknowledged: the shard fails every run until then. */
export interface OpenGap extends GapRange {
  /** ISO-8601: the run that first found it. */
  firstDetected: string;
  /** ISO-8601: the newest run that found it again. */
  lastSeen: string;
}

/** A ledger entry: a gap someone acknowledged, after which archiving went on. */
export interface AcknowledgedGap {
  stream: string;
  shardId: string;
  from: string;
  fromArchived: boolean;
  /** The first record archived after the gap (exclusive bound of the missing records). */
  to: string;
  firstDetected: string;
  lastSeen: string;
  acknowledgedAt: string;
  /** Who acknowledged it, when known (the caller's AWS identity, or the local user). */
  acknowledgedBy: string | null;
  note: string | null;
  /**
   * The key of a pending block whose object was never written and whose records the gap took:
   * dropped by the acknowledgment (it can no longer be rebuilt record for record).
   */
  droppedPendingKey?: string | null;
}

/** Where a ledger entry's key says it belongs. */
export interface GapLedgerRef {
  stream: string;
  shardId: string;
  from: string;
  to: string;
}

/** The ledger of every stream (`stream` absent) or of one stream. */
export function gapLedgerPrefix(prefix: string, stream?: string): string {
  const root = `${normalizePrefix(prefix)}gaps/`;
  return stream === undefined ? root : `${root}stream=${stream}/`;
}

export function gapLedgerKey(
  prefix: string,
  stream: string,
  shardId: string,
  from: string,
  to: string,
): string {
  return `${gapLedgerPrefix(prefix, stream)}${shardId}/${from}-${to}.json`;
}

const LEDGER_KEY = /gaps\/stream=([^/]+)\/([^/]+)\/(\d+)-(\d+)\.json$/;

export function parseGapLedgerKey(key: string): GapLedgerRef | null {
  const match = LEDGER_KEY.exec(key);
  if (!match) return null;
  const [, stream, shardId, from, to] = match as unknown as [string, string, string, string, string];
  return { stream, shardId, from, to };
}

/** The range a DataGapError names. */
export function rangeOfGap(gap: {
  lastArchivedSequenceNumber: string | null;
  expectedSequenceNumber: string;
  firstAvailableSequenceNumber: string | null;
}): GapRange {
  return {
    from: gap.lastArchivedSequenceNumber ?? gap.expectedSequenceNumber,
    fromArchived: gap.lastArchivedSequenceNumber !== null,
    to: gap.firstAvailableSequenceNumber,
  };
}

/**
 * The open gap after a run found `range` at `now`. The same gap found again (same `from`) keeps
 * when it was first detected; `to` follows the trim horizon as it moves on.
 */
export function detectedGap(previous: OpenGap | null | undefined, range: GapRange, now: Date): OpenGap {
  const at = now.toISOString();
  const same = previous && previous.from === range.from && previous.fromArchived === range.fromArchived;
  return {
    from: range.from,
    fromArchived: range.fromArchived,
    to: range.to ?? (same ? previous.to : null),
    firstDetected: same ? previous.firstDetected : at,
    lastSeen: at,
  };
}

/** The ledger entry of an open gap acknowledged at `now`, ending before `to` (the oldest record left). */
export function acknowledgedGap(
  open: OpenGap,
  where: { stream: string; shardId: string; to: string },
  who: { now: Date; by: string | null; note: string | null; droppedPendingKey?: string | null },
): AcknowledgedGap {
  return {
    stream: where.stream,
    shardId: where.shardId,
    from: open.from,
    fromArchived: open.fromArchived,
    to: where.to,
    firstDetected: open.firstDetected,
    lastSeen: open.lastSeen,
    acknowledgedAt: who.now.toISOString(),
    acknowledgedBy: who.by,
    note: who.note,
    ...(who.droppedPendingKey ? { droppedPendingKey: who.droppedPendingKey } : {}),
  };
}

export function isAcknowledgedGap(value: unknown): value is AcknowledgedGap {
  const v = value as AcknowledgedGap;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.stream === 'string' &&
    typeof v.shardId === 'string' &&
    typeof v.from === 'string' &&
    typeof v.to === 'string' &&
    typeof v.acknowledgedAt === 'string'
  );
}

/** The records a gap lost, in words: after (or from) `from`, before `to`. */
export function missingRange(gap: GapRange): string {
  const start = gap.fromArchived ? `after ${gap.from}` : `from ${gap.from}`;
  return gap.to ? `${start}, before ${gap.to}` : start;
}
