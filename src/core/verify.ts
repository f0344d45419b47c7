import type { Checkpoint } from './checkpoint';
import { HOUR_MS, hourStartMs, type ColumnarManifest } from './columnar';
import { hourPartition, hourStart, parseArchiveObjectKey, type ArchiveObjectRef } from './layout';
import { compareSequenceNumbers } from './sequence';

/**
 * `reservoir verify` (DESIGN.md "Verifying the archive"): per stream, shard and hour, is the
 * archive complete and intact? Pure: the listing, the objects' metadata, the checkpoints, the
 * manifests, the acknowledged gaps and (with --deep) what reading each object found come in.
 *
 * Within a shard, objects ordered by first sequence number must not overlap, and each object
 * names the last sequence number of the block written before it (`previous`, core/object-metadata.ts):
 * that must be the last of the object before it, which is how a lost object is proved. Chains
 * are per shard: a child's first block starts from its trim horizon (`previous` none), so a
 * parent's last object and a child's first never need to join.
 */
export type HourStatus = 'full' | 'gap' | 'partial' | 'missing' | 'corrupt';

/** Worst last: an hour takes the worst status of its findings. */
export const HOUR_STATUSES: readonly HourStatus[] = ['full', 'gap', 'partial', 'missing', 'corrupt'];

export interface VerifyObject {
  key: string;
  bytes: number;
  /** From the object's metadata: null = read from the trim horizon, undefined = not recorded. */
  previous?: string | null;
  records?: number;
}

/** An acknowledged data gap (the gap ledger): the shard's records after `from` up to `to` are gone. */
export interface AcknowledgedGapRange {
  shardId: string;
  /** Last archived sequence number before the gap ('' when none was). */
  from: string;
  /** First sequence number available after it ('' when none was). */
  to: string;
}

export interface VerifyInput {
  stream: string;
  /** The stream's JSONL objects (archive listing), with their metadata. */
  objects: readonly VerifyObject[];
  checkpoints: readonly Checkpoint[];
  /**
   * Checkpoints of earlier streams of the name (checkpoints-retired/): a stream deleted and created
   * again starts its shards over from the trim horizon, and the same shard ids' objects follow on.
   */
  retiredCheckpoints?: readonly Checkpoint[];
  manifests: readonly ColumnarManifest[];
  /** The stream's columnar listing: the files the manifests list must be there, same size. */
  columnarObjects: readonly { key: string; bytes: number }[];
  acknowledgedGaps: readonly AcknowledgedGapRange[];
  /** A lifecycle rule may have expired the stream's oldest objects (or it is not known). */
  mayExpire: boolean;
  /** --deep: what reading each object or Parquet file found wrong (absent: not read). */
  contentProblems?: ReadonlyMap<string, readonly string[]>;
  /** Only hours overlapping [fromMs, toMs) are reported (the chains are checked over everything). */
  fromMs?: number;
  toMs?: number;
}

export interface HourFinding {
  status: Exclude<HourStatus, 'full'>;
  shardId?: string;
  detail: string;
}

export interface VerifiedHour {
  dt: string;
  hr: string;
  status: HourStatus;
  /** JSONL objects present. */
  objects: number;
  /** The hour has a columnar manifest. */
  converted: boolean;
  findings: HourFinding[];
}

export interface StreamVerification {
  stream: string;
  status: HourStatus;
  hours: VerifiedHour[];
  counts: Record<HourStatus, number>;
  /** Joins of consecutive objects proved by `previous`, and those that could not be (older objects). */
  joins: { proven: number; unproven: number };
  /** What verify saw but cannot call a loss (a head that may have expired, a pending block). */
  notes: string[];
}

interface Entry {
  ref: ArchiveObjectRef;
  key: string;
  hourMs: number;
  /** undefined: not known (an older object, or one expired after conversion). */
  previous: string | null | undefined;
  present: boolean;
}

const severity = (status: HourStatus) => HOUR_STATUSES.indexOf(status);
const worst = (a: HourStatus, b: HourStatus) => (severity(a) >= severity(b) ? a : b);

export function verifyStream(input: VerifyInput): StreamVerification {
  const findings = new Map<number, HourFinding[]>();
  const notes: string[] = [];
  const joins = { proven: 0, unproven: 0 };
  const add = (hourMs: number, finding: HourFinding) => {
    const list = findings.get(hourMs) ?? [];
    list.push(finding);
    findings.set(hourMs, list);
  };

  const present = new Set(input.objects.map((o) => o.key));
  const entries: Entry[] = [];
  const objectsPerHour = new Map<number, number>();
  for (const object of input.objects) {
    const ref = parseArchiveObjectKey(object.key);
    if (!ref || ref.stream !== input.stream) continue;
    const hourMs = hourStartMs(ref);
    objectsPerHour.set(hourMs, (objectsPerHour.get(hourMs) ?? 0) + 1);
    entries.push({ ref, key: object.key, hourMs, previous: object.previous, present: true });
  }
  // JSONL that expired after conversion is still covered: its manifest lists it.
  const convertedHours = new Set<number>();
  for (const manifest of input.manifests) {
    convertedHours.add(hourStartMs(manifest));
    for (const source of manifest.sources) {
      const ref = parseArchiveObjectKey(source.key);
      if (!ref || present.has(source.key)) continue;
      present.add(source.key);
      entries.push({ ref, key: source.key, hourMs: hourStartMs(ref), previous: undefined, present: false });
    }
  }

  const byShard = new Map<string, Entry[]>();
  for (const entry of entries) {
    const list = byShard.get(entry.ref.shardId) ?? [];
    list.push(entry);
    byShard.set(entry.ref.shardId, list);
  }
  const checkpoints = new Map(input.checkpoints.map((c) => [c.shardId, c]));
  const shardIds = [...new Set([...byShard.keys(), ...checkpoints.keys()])].sort();

  for (const shardId of shardIds) {
    const chain = (byShard.get(shardId) ?? []).sort(
      (a, b) =>
        compareSequenceNumbers(a.ref.firstSequenceNumber, b.ref.firstSequenceNumber) ||
        compareSequenceNumbers(a.ref.lastSequenceNumber, b.ref.lastSequenceNumber),
    );
    const shardHours = new Set(chain.map((e) => e.hourMs));
    const gaps = input.acknowledgedGaps.filter((g) => g.shardId === shardId);
    const epochEnds = new Set(
      (input.retiredCheckpoints ?? []).filter((c) => c.shardId === shardId).map((c) => c.lastSequenceNumber),
    );
    /** Marks the hours a hole may lie in: those with the shard's objects partial, the others missing. */
    const hole = (
      fromHourMs: number,
      toHourMs: number,
      after: string | null,
      before: string,
      detail: string,
    ) => {
      const acknowledged = gaps.some((g) => gapCovers(g, after, before));
      for (let h = Math.min(fromHourMs, toHourMs); h <= Math.max(fromHourMs, toHourMs); h += HOUR_MS) {
        const status = acknowledged ? 'gap' : shardHours.has(h) ? 'partial' : 'missing';
        add(h, { status, shardId, detail: acknowledged ? `${detail} (acknowledged gap)` : detail });
      }
    };

    const head = chain[0];
    if (head && typeof head.previous === 'string') {
      const detail = `the object ending at ${head.previous} (before ${head.ref.firstSequenceNumber}) is gone`;
      if (gaps.some((g) => gapCovers(g, head.previous!, head.ref.firstSequenceNumber)))
        add(head.hourMs, { status: 'gap', shardId, detail: `${detail} (acknowledged gap)` });
      else if (input.mayExpire)
        notes.push(`${shardId}: ${detail}: expired by the stream's retention, or deleted (cannot tell)`);
      else
        add(head.hourMs, { status: 'partial', shardId, detail: `${detail} (no retention rule expires it)` });
    }

    for (let i = 1; i < chain.length; i += 1) {
      const a = chain[i - 1]!;
      const b = chain[i]!;
      if (compareSequenceNumbers(b.ref.firstSequenceNumber, a.ref.lastSequenceNumber) <= 0) {
        const detail = `${name(b)} overlaps ${name(a)}`;
        add(a.hourMs, { status: 'corrupt', shardId, detail });
        if (b.hourMs !== a.hourMs) add(b.hourMs, { status: 'corrupt', shardId, detail });
        continue;
      }
      if (b.previous === undefined) joins.unproven += 1;
      else if (b.previous === a.ref.lastSequenceNumber) {
        joins.proven += 1;
        // An acknowledged gap resumes the chain where it stopped: the records between are gone for good.
        if (gaps.some((g) => gapOverlaps(g, a.ref.lastSequenceNumber, b.ref.firstSequenceNumber)))
          hole(
            a.hourMs,
            b.hourMs,
            a.ref.lastSequenceNumber,
            b.ref.firstSequenceNumber,
            `records between ${a.ref.lastSequenceNumber} and ${b.ref.firstSequenceNumber} were lost`,
          );
      }
      // The earlier stream of the name ended here; this shard of the new one starts its chain anew.
      else if (b.previous === null && epochEnds.has(a.ref.lastSequenceNumber)) joins.proven += 1;
      else
        hole(
          a.hourMs,
          b.hourMs,
          a.ref.lastSequenceNumber,
          b.ref.firstSequenceNumber,
          `records between ${a.ref.lastSequenceNumber} and ${b.ref.firstSequenceNumber} are missing ` +
            `(${name(b)} follows ${b.previous ?? 'the trim horizon'})`,
        );
    }

    const checkpoint = checkpoints.get(shardId);
    if (checkpoint) checkCheckpoint(checkpoint, chain, hole, notes, input.mayExpire);
  }

  for (const manifest of input.manifests) checkManifest(manifest, input.columnarObjects, add);
  for (const [key, problems] of input.contentProblems ?? []) {
    if (problems.length === 0) continue;
    const ref = parseArchiveObjectKey(key);
    const manifest = ref ? undefined : input.manifests.find((m) => m.files.some((f) => f.key === key));
    const hourMs = ref ? hourStartMs(ref) : manifest ? hourStartMs(manifest) : null;
    if (hourMs === null) continue;
    add(hourMs, {
      status: 'corrupt',
      ...(ref ? { shardId: ref.shardId } : {}),
      detail: `${key.slice(key.lastIndexOf('/') + 1)}: ${problems.join('; ')}`,
    });
  }

  const hourKeys = new Set([...objectsPerHour.keys(), ...convertedHours, ...findings.keys()]);
  const hours = [...hourKeys]
    .filter(
      (h) =>
        (input.fromMs === undefined || h + HOUR_MS > input.fromMs) &&
        (input.toMs === undefined || h < input.toMs),
    )
    .sort((a, b) => a - b)
    .map((hourMs): VerifiedHour => {
      const objects = objectsPerHour.get(hourMs) ?? 0;
      const converted = convertedHours.has(hourMs);
      const list = findings.get(hourMs) ?? [];
      // One shard's missing hour is the stream's partial hour when anything else of it is there.
      const status = list.reduce<HourStatus>(
        (acc, f) =>
          worst(
            acc,
            f.status === 'missing' && f.shardId && (objects > 0 || converted) ? 'partial' : f.status,
          ),
        'full',
      );
      return { ...hourPartition(hourMs), status, objects, converted, findings: list };
    });
  const counts = Object.fromEntries(HOUR_STATUSES.map((s) => [s, 0])) as Record<HourStatus, number>;
  for (const hour of hours) counts[hour.status] += 1;
  const status = hours.reduce<HourStatus>((acc, h) => worst(acc, h.status), 'full');
  return { stream: input.stream, status, hours, counts, joins, notes };
}

/** Whether the stream verified has nothing but full hours and acknowledged gaps. */
export function isVerified(result: Pick<StreamVerification, 'status'>): boolean {
  return severity(result.status) <= severity('gap');
}

/**
 * Objects up to the checkpoint exist: one ends at its `lastSequenceNumber`. Objects past it are
 * its pending block (written or not yet) or a writer's that never committed: not losses.
 */
function checkCheckpoint(
  checkpoint: Checkpoint,
  chain: readonly Entry[],
  hole: (fromHourMs: number, toHourMs: number, after: string | null, before: string, detail: string) => void,
  notes: string[],
  mayExpire: boolean,
): void {
  const last = checkpoint.lastSequenceNumber;
  const open = checkpoint.openGap;
  // Records Kinesis deleted unarchived, known to the archiver and not acknowledged: a loss after
  // the checkpoint (their arrival times are unknown: the hour of the checkpoint's last record).
  if (open) {
    const gapHourMs = hourStart(checkpoint.lastArrivalTimestamp ?? Date.parse(open.firstDetected));
    hole(
      gapHourMs,
      gapHourMs,
      open.from,
      open.to ?? open.from,
      `open data gap after ${open.from}${open.to ? ` up to ${open.to}` : ''}, found ${open.firstDetected}: ` +
        'reservoir gaps acknowledge records it',
    );
  }
  const pending = checkpoint.pending;
  if (pending && !chain.some((e) => e.key === pending.key))
    notes.push(
      `${checkpoint.shardId}: pending block ${pending.firstSequenceNumber}-${pending.lastSequenceNumber} not written yet (the next run writes it)`,
    );
  if (last === null) return;
  if (chain.some((e) => e.ref.lastSequenceNumber === last)) return;
  const before = chain.filter((e) => compareSequenceNumbers(e.ref.lastSequenceNumber, last) < 0).at(-1);
  const lastHourMs =
    checkpoint.lastArrivalTimestamp !== null ? hourStart(checkpoint.lastArrivalTimestamp) : before?.hourMs;
  if (lastHourMs === undefined) return;
  // Retention expires the oldest objects first: the newest gone with older ones left is a loss,
  // but a quiet shard may have had all of them expired.
  if (!before && mayExpire) {
    notes.push(
      `${checkpoint.shardId}: no object is left up to the checkpoint (${last}): expired by the stream's retention, or deleted (cannot tell)`,
    );
    return;
  }
  hole(
    before?.hourMs ?? lastHourMs,
    lastHourMs,
    before?.ref.lastSequenceNumber ?? null,
    last,
    `the checkpoint is at ${last} but no object ends there` +
      (before
        ? ` (the last one found ends at ${before.ref.lastSequenceNumber})`
        : ' (no object of the shard found)'),
  );
}

/** The manifest's files are there, the size it recorded. */
function checkManifest(
  manifest: ColumnarManifest,
  columnar: readonly { key: string; bytes: number }[],
  add: (hourMs: number, finding: HourFinding) => void,
): void {
  const sizes = new Map(columnar.map((o) => [o.key, o.bytes]));
  const hourMs = hourStartMs(manifest);
  for (const file of manifest.files) {
    const name = file.key.slice(file.key.lastIndexOf('/') + 1);
    const bytes = sizes.get(file.key);
    if (bytes === undefined)
      add(hourMs, {
        status: 'missing',
        detail: `Parquet ${name} (${file.rows} rows) listed by the manifest is gone`,
      });
    else if (bytes !== file.bytes)
      add(hourMs, {
        status: 'corrupt',
        detail: `Parquet ${name} has ${bytes} bytes, its manifest says ${file.bytes}`,
      });
  }
}

/** Whether an acknowledged gap lies in the hole after `after` (null: the trim horizon) and before `before`. */
function gapOverlaps(gap: AcknowledgedGapRange, after: string | null, before: string): boolean {
  const startsBeforeHoleEnds = gap.from === '' || compareSequenceNumbers(gap.from, before) < 0;
  const endsAfterHoleStarts = after === null || gap.to === '' || compareSequenceNumbers(gap.to, after) > 0;
  return startsBeforeHoleEnds && endsAfterHoleStarts;
}

/**
 * Whether an acknowledged gap explains the whole hole after `after` (null: the trim horizon) and
 * before `before`: it starts at or before the hole and ends at or after it. A gap that only
 * overlaps leaves the rest of the hole a loss (say, the first object after an acknowledged gap
 * deleted later).
 */
function gapCovers(gap: AcknowledgedGapRange, after: string | null, before: string): boolean {
  const coversStart = after === null || gap.from === '' || compareSequenceNumbers(gap.from, after) <= 0;
  const coversEnd = gap.to === '' || compareSequenceNumbers(gap.to, before) >= 0;
  return coversStart && coversEnd;
}

function name(entry: Entry): string {
  return `${entry.ref.firstSequenceNumber}-${entry.ref.lastSequenceNumber}${entry.present ? '' : ' (converted, JSONL expired)'}`;
}
