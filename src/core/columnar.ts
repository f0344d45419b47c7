import { causeMessage } from './error-cause';
import type { Checkpoint } from './checkpoint';
import { hourPartition, normalizePrefix, parseArchiveObjectKey, runPrefix } from './layout';

/**
 * The columnar (Parquet) copy of the archive, one generation of files per stream and hour
 * (DESIGN.md "Columnar archive"):
 *
 *   {prefix}columnar/stream={stream}/dt={YYYY-MM-DD}/hr={HH}/{generation}-{NNNNN}.parquet
 *   {prefix}columnar/stream={stream}/dt={YYYY-MM-DD}/hr={HH}/_manifest.json
 *
 * Readers trust only the files the hour's manifest lists; the manifest is written last.
 */
export const HOUR_MS = 3_600_000;

export interface ArchiveHour {
  stream: string;
  /** YYYY-MM-DD (UTC). */
  dt: string;
  /** HH (UTC). */
  hr: string;
}

export function hourOf(stream: string, epochMillis: number): ArchiveHour {
  return { stream, ...hourPartition(epochMillis) };
}

/** Epoch ms where the hour begins. */
export function hourStartMs(hour: Pick<ArchiveHour, 'dt' | 'hr'>): number {
  return Date.parse(`${hour.dt}T${hour.hr}:00:00.000Z`);
}

export function hourId(hour: ArchiveHour): string {
  return `${hour.stream}/${hour.dt}/${hour.hr}`;
}

export function columnarStreamPrefix(prefix: string, stream: string): string {
  return `${normalizePrefix(prefix)}columnar/stream=${stream}/`;
}

export function columnarHourPrefix(prefix: string, hour: ArchiveHour): string {
  return `${columnarStreamPrefix(prefix, hour.stream)}dt=${hour.dt}/hr=${hour.hr}/`;
}

/** `_` first: Athena, Hive and Trino skip files whose names begin with `_` or `.`. */
export const MANIFEST_NAME = '_manifest.json';

export function columnarManifestKey(prefix: string, hour: ArchiveHour): string {
  return `${columnarHourPrefix(prefix, hour)}${MANIFEST_NAME}`;
}

export function parquetKey(prefix: string, hour: ArchiveHour, generation: string, index: number): string {
  return `${columnarHourPrefix(prefix, hour)}${generation}-${String(index).padStart(5, '0')}.parquet`;
}

/** The JSONL objects of the hour live here (one folder per shard below it). */
export function archiveHourPrefix(prefix: string, hour: ArchiveHour): string {
  return `${normalizePrefix(prefix)}archive/stream=${hour.stream}/dt=${hour.dt}/hr=${hour.hr}/`;
}

/**
 * A conversion's id: `g` + the UTC time compact to the millisecond + `-` + a random suffix.
 * Ids sort by time, so files of two generations can sit side by side in one hour.
 */
export function generationId(now: Date, random: string): string {
  const time = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.(\d{3})Z$/, '$1Z');
  return `g${time}-${random.replace(/[^0-9a-z]/gi, '').slice(0, 8)}`;
}

const MANIFEST_KEY = /columnar\/stream=([^/]+)\/dt=(\d{4}-\d{2}-\d{2})\/hr=(\d{2})\/_manifest\.json$/;

export function parseManifestKey(key: string): ArchiveHour | null {
  const match = MANIFEST_KEY.exec(key);
  return match ? { stream: match[1]!, dt: match[2]!, hr: match[3]! } : null;
}

/** A JSONL object the hour's Parquet came from: its key names its sequence range, its size pins the version. */
export interface ManifestSource {
  key: string;
  bytes: number;
}

export interface ManifestFile {
  key: string;
  bytes: number;
  rows: number;
}

export interface ColumnarManifest {
  version: 1;
  stream: string;
  dt: string;
  hr: string;
  generation: string;
  /** Parquet files of this generation: readers read these and nothing else of the hour. */
  files: ManifestFile[];
  /** The JSONL objects converted, sorted by key. */
  sources: ManifestSource[];
  /** Rows over all files = record lines over all sources. */
  records: number;
  createdAt: string;
}

export function isColumnarManifest(value: unknown): value is ColumnarManifest {
  const v = value as ColumnarManifest;
  return (
    typeof v === 'object' &&
    v !== null &&
    v.version === 1 &&
    typeof v.generation === 'string' &&
    Array.isArray(v.files) &&
    Array.isArray(v.sources) &&
    typeof v.records === 'number'
  );
}

export function sortedSources(sources: readonly ManifestSource[]): ManifestSource[] {
  return [...sources].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Whether the hour must be converted (again): no manifest yet, or a JSONL object of the hour that
 * the manifest was not made from (a record archived into the hour after its conversion, arrival
 * stamps being approximate; or an object of another size). Objects the manifest lists that are gone
 * (expired by retention) change nothing: the Parquet keeps their records, and converting again
 * without them would lose them. An hour without JSONL objects has nothing to convert.
 */
export function needsConversion(
  manifest: Pick<ColumnarManifest, 'sources'> | null,
  current: readonly ManifestSource[],
): boolean {
  if (current.length === 0) return false;
  if (!manifest) return true;
  const converted = new Map(manifest.sources.map((source) => [source.key, source.bytes]));
  return current.some((source) => converted.get(source.key) !== source.bytes);
}

/**
 * Whether no shard can still add a record to the hour [start, start + 1 h), from the stream's
 * checkpoints. A shard can still add one unless:
 *
 * - it is drained (read to its end: nothing more will ever come from it), or
 * - its last archived record arrived at or after the hour's end (`lastArrivalTimestamp`), or
 * - a run read it to its tip after the hour ended (`caughtUpTo` ≥ the hour's end);
 *
 * and in every case it has no pending block in that hour (a block being written: its object may
 * not exist yet). A drained shard whose children have no checkpoint yet (nobody has read them)
 * holds open every hour from the one of its last record on: its children's records come after it.
 * With no checkpoints at all nothing is known, so nothing is closed.
 *
 * Arrival stamps are approximate, so a record may still land in a closed hour; the manifest's
 * sources catch that (needsConversion) and the hour is converted again.
 */
export function isHourClosed(startMs: number, checkpoints: readonly Checkpoint[]): boolean {
  if (checkpoints.length === 0) return false;
  const endMs = startMs + HOUR_MS;
  const parents = new Set(checkpoints.flatMap((c) => c.parentShardIds));
  return checkpoints.every((c) => {
    if (c.pending && pendingHourStart(c.pending.key, c.pending.lastArrivalTimestamp) === startMs)
      return false;
    if (c.drained) {
      if (parents.has(c.shardId)) return true;
      // Children unread: they can add records from about this shard's end on.
      return c.lastArrivalTimestamp !== null && c.lastArrivalTimestamp >= endMs;
    }
    if (c.pending) return false;
    if (c.lastArrivalTimestamp !== null && c.lastArrivalTimestamp >= endMs) return true;
    return c.caughtUpTo !== undefined && c.caughtUpTo >= endMs;
  });
}

function pendingHourStart(key: string, lastArrivalTimestamp: number): number {
  const ref = parseArchiveObjectKey(key);
  return ref ? hourStartMs(ref) : Math.floor(lastArrivalTimestamp / HOUR_MS) * HOUR_MS;
}

export interface HourListing {
  hour: ArchiveHour;
  sources: ManifestSource[];
}

/** Archive objects of one stream ({key, bytes}) grouped by hour, hours in time order. */
export function groupByHour(stream: string, objects: readonly ManifestSource[]): HourListing[] {
  const hours = new Map<string, HourListing>();
  for (const object of objects) {
    const ref = parseArchiveObjectKey(object.key);
    if (!ref || ref.stream !== stream) continue;
    const hour = { stream, dt: ref.dt, hr: ref.hr };
    const id = hourId(hour);
    let listing = hours.get(id);
    if (!listing) hours.set(id, (listing = { hour, sources: [] }));
    listing.sources.push({ key: object.key, bytes: object.bytes });
  }
  return [...hours.values()]
    .map((l) => ({ hour: l.hour, sources: sortedSources(l.sources) }))
    .sort((a, b) => hourStartMs(a.hour) - hourStartMs(b.hour));
}

export interface HourSelection {
  /** Convert the hour in progress (and other open hours) too. */
  includeOpen?: boolean;
  fromMs?: number;
  toMs?: number;
}

/**
 * The hours of a stream to convert: closed (or any, with includeOpen), within [fromMs, toMs) when
 * given (an hour overlapping the bounds counts), and needing conversion by their manifests.
 */
export function hoursToConvert(
  listings: readonly HourListing[],
  checkpoints: readonly Checkpoint[],
  manifests: ReadonlyMap<string, Pick<ColumnarManifest, 'sources'>>,
  selection: HourSelection = {},
): HourListing[] {
  return listings.filter(({ hour, sources }) => {
    const start = hourStartMs(hour);
    if (selection.fromMs !== undefined && start + HOUR_MS <= selection.fromMs) return false;
    if (selection.toMs !== undefined && start >= selection.toMs) return false;
    if (!selection.includeOpen && !isHourClosed(start, checkpoints)) return false;
    return needsConversion(manifests.get(hourId(hour)) ?? null, sources);
  });
}

/**
 * Where the next planning of a stream may start listing: the start of the earliest hour that is due
 * now, or open (isHourClosed), or that a shard can still add a record to (from its checkpoint).
 * Every hour before it is closed, converted and final, so a run lists from a margin before it
 * (LATE_RECORD_MARGIN_MS) instead of the whole archive. Null when a shard's progress is unknown
 * (nothing archived, never caught up: its records may be of any hour) or nothing is known: list
 * everything next time.
 */
export function conversionWatermark(
  listings: readonly HourListing[],
  checkpoints: readonly Checkpoint[],
  due: readonly HourListing[],
): number | null {
  if (checkpoints.length === 0) return null;
  const parents = new Set(checkpoints.flatMap((c) => c.parentShardIds));
  const marks = [
    ...due.map((l) => hourStartMs(l.hour)),
    ...listings.map((l) => hourStartMs(l.hour)).filter((start) => !isHourClosed(start, checkpoints)),
  ];
  for (const c of checkpoints) {
    // Drained with children that have checkpoints: the children speak for what comes next.
    if (c.drained && parents.has(c.shardId)) continue;
    const from = earliestPossibleArrival(c);
    if (from === null) return null;
    marks.push(Math.floor(from / HOUR_MS) * HOUR_MS);
  }
  if (marks.length > 0) return Math.min(...marks);
  return listings.length > 0 ? Math.max(...listings.map((l) => hourStartMs(l.hour))) + HOUR_MS : null;
}

/** The earliest arrival stamp a shard (or, drained, its unread children) can still archive; null: unknown. */
function earliestPossibleArrival(c: Checkpoint): number | null {
  if (c.pending)
    return Math.min(
      c.pending.lastArrivalTimestamp,
      pendingHourStart(c.pending.key, c.pending.lastArrivalTimestamp),
    );
  if (c.drained) return c.lastArrivalTimestamp;
  const known = Math.max(c.lastArrivalTimestamp ?? 0, c.caughtUpTo ?? 0);
  return known > 0 ? known : null;
}

/**
 * Where the archive workflow keeps a stream's watermark: with its run files, which expire when no
 * run rewrites them (a lost watermark only means one full listing).
 */
export function columnarWatermarkKey(prefix: string, stream: string): string {
  return `${runPrefix(prefix, 'archive', 'columnar-watermarks')}stream=${stream}.json`;
}

export interface ColumnarWatermark {
  stream: string;
  /** Start of the earliest hour that was open or due when the archive last planned conversions. */
  watermarkMs: number;
  plannedAt: string;
}

export function isColumnarWatermark(value: unknown): value is ColumnarWatermark {
  const v = value as Partial<ColumnarWatermark> | null;
  return (
    typeof v?.stream === 'string' && Number.isSafeInteger(v.watermarkMs) && typeof v.plannedAt === 'string'
  );
}

/**
 * How far before the watermark a planning lists: a record archived after its hour closed carries an
 * arrival stamp at most seconds off (the read's clock slack), far less than this.
 */
export const LATE_RECORD_MARGIN_MS = HOUR_MS;

/** Target uncompressed bytes of one Parquet row group (Athena's and Trino's guidance: ~128 MB). */
export const ROW_GROUP_TARGET_BYTES = 128 * 1024 * 1024;

/**
 * Rows per row group: 128 MiB over the average record line's size. A record line (the JSONL
 * text, field names and quoting included) is a little larger than the row's uncompressed column
 * values, so groups come out at or under the target. Bounded by [2,048, 10,000,000]: DuckDB's
 * vector size below, and tiny records above (a group of millions of rows is still ~128 MB).
 */
export function rowGroupRows(lineBytes: number, lines: number): number {
  if (lines <= 0 || lineBytes <= 0) return 122_880;
  const average = lineBytes / lines;
  return Math.max(2_048, Math.min(10_000_000, Math.floor(ROW_GROUP_TARGET_BYTES / average)));
}

/** What one hour's conversion came to in an archive run (runs/archive/{runId}/columnar/results/…). */
export interface HourConversionOutcome extends ArchiveHour {
  status: 'converted' | 'up-to-date' | 'empty' | 'superseded' | 'failed';
  records: number;
  generation?: string;
  error?: { name: string; message: string };
}

/** The columnar part of an archive run's summary. */
export interface ColumnarRunSummary {
  /** Hours PlanColumnar chose. */
  planned: number;
  /** Hours a new generation was published for, and their records. */
  converted: number;
  records: number;
  /** Hours left for the next run (RESERVOIR_COLUMNAR_HOURS_PER_RUN). */
  deferred: number;
  failures: { stream: string; dt: string; hr: string; error: { name: string; message: string } }[];
  /** Set when PlanColumnar itself failed (the conversion was skipped this run). */
  planError?: { name: string; message: string };
}

export function summarizeColumnar(
  outcomes: readonly HourConversionOutcome[],
  plan: { count?: number; deferred?: number; error?: { name: string; message: string } } = {},
): ColumnarRunSummary {
  const converted = outcomes.filter((o) => o.status === 'converted');
  return {
    planned: plan.count ?? outcomes.length,
    converted: converted.length,
    records: converted.reduce((sum, o) => sum + o.records, 0),
    deferred: plan.deferred ?? 0,
    failures: outcomes
      .filter((o) => o.status === 'failed')
      .map((o) => ({
        stream: o.stream,
        dt: o.dt,
        hr: o.hr,
        error: o.error ?? { name: 'Error', message: '' },
      })),
    ...(plan.error ? { planError: plan.error } : {}),
  };
}

/** Warnings of the run summary: a conversion failure never fails the archive. */
export function columnarWarnings(summary: ColumnarRunSummary | null): string[] {
  if (!summary) return [];
  const warnings = summary.failures.map(
    (f) =>
      `columnar: ${f.stream} ${f.dt} hr=${f.hr} not converted (${f.error.name}: ${f.error.message}); the next run tries again`,
  );
  if (summary.planError)
    warnings.push(
      `columnar: no hours planned (${summary.planError.name}: ${summary.planError.message}); the next run tries again`,
    );
  return warnings;
}

/** PlanColumnar's result ({count, deferred}), or the `{Error, Cause}` its Catch left in the same place. */
export function columnarPlanOutcome(raw: unknown): {
  count?: number;
  deferred?: number;
  error?: { name: string; message: string };
} {
  if (raw === null || typeof raw !== 'object') return {};
  const value = raw as Record<string, unknown>;
  if (typeof value.Error === 'string')
    return {
      error: {
        name: value.Error,
        message: causeMessage(typeof value.Cause === 'string' ? value.Cause : undefined),
      },
    };
  return {
    ...(typeof value.count === 'number' ? { count: value.count } : {}),
    ...(typeof value.deferred === 'number' ? { deferred: value.deferred } : {}),
  };
}
