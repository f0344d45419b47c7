import { readArchiveObject } from '../archive/archive-reader';
import type { ArchiveSummary } from '../core/archive-summary';
import { DAYS_PER_MONTH, firehoseBilledBytes, type PriceTable, type StreamVolume } from '../core/cost-model';
import { columnarStreamPrefix } from '../core/columnar';
import { archiveStreamPrefix, normalizePrefix, parseArchiveObjectKey } from '../core/layout';
import type { ObjectStore, StreamCatalog } from '../core/ports';
import { decodePayload, serializeRecordLine } from '../core/record-line';

export interface MeasureDeps {
  store: ObjectStore;
  catalog: StreamCatalog;
  prefix: string;
  now: () => number;
}

export interface MeasureOptions {
  /** Days of newest partitions the monthly growth is taken from. */
  windowDays: number;
  /** Newest objects read to learn records per byte and record sizes. */
  sampleObjects: number;
  /** Overrides the run frequency seen in recent runs (e.g. a schedule not yet run often). */
  runsPerMonth?: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The archive summaries of the newest runs, newest first. */
export async function recentArchiveSummaries(
  store: ObjectStore,
  prefix: string,
  count: number,
): Promise<ArchiveSummary[]> {
  const keys = (await store.listKeys(`${normalizePrefix(prefix)}runs/archive/`)).filter((key) =>
    key.endsWith('/summary.json'),
  );
  const summaries = await Promise.all(keys.map((key) => store.getJson<ArchiveSummary>(key)));
  return summaries
    .flatMap((stored) => (stored ? [stored.value] : []))
    .sort((a, b) => b.finishedAt.localeCompare(a.finishedAt))
    .slice(0, count);
}

/** Measures one stream: what its archive holds and grows by, and what its recent runs used. */
export async function measureStream(
  deps: MeasureDeps,
  stream: string,
  summaries: ArchiveSummary[],
  prices: PriceTable,
  options: MeasureOptions,
): Promise<StreamVolume> {
  const now = deps.now();
  const objects = (await deps.store.listObjects(archiveStreamPrefix(deps.prefix, stream))).flatMap(
    (object) => {
      const ref = parseArchiveObjectKey(object.key);
      return ref ? [{ ...object, hourStart: Date.parse(`${ref.dt}T${ref.hr}:00:00Z`) }] : [];
    },
  );
  const storedBytes = objects.reduce((sum, o) => sum + o.bytes, 0);
  const oldest = objects.reduce((min, o) => Math.min(min, o.hourStart), now);
  const windowStart = now - options.windowDays * DAY_MS;
  const recent = objects.filter((o) => o.hourStart >= windowStart).sort((a, b) => b.hourStart - a.hourStart);
  // The window is as long as the archive is, when it is younger than the window (at least an hour).
  const windowMs = Math.max(HOUR_MS, now - Math.max(windowStart, oldest));
  const perMonth = (value: number) => (value / windowMs) * DAYS_PER_MONTH * DAY_MS;
  const recentBytes = recent.reduce((sum, o) => sum + o.bytes, 0);
  const recentHours = new Set(recent.map((o) => o.hourStart)).size;
  // The columnar tree as it is billed: every Parquet file (a replaced generation's until it is deleted).
  const parquet = (await deps.store.listObjects(columnarStreamPrefix(deps.prefix, stream))).filter((o) =>
    o.key.endsWith('.parquet'),
  );

  const sample = await sampleRecords(deps.store, recent.slice(0, options.sampleObjects), prices);
  const recordsPerByte = sample.compressedBytes > 0 ? sample.records / sample.compressedBytes : 0;
  const monthlyCompressedBytes = perMonth(recentBytes);
  const monthlyRecords = monthlyCompressedBytes * recordsPerByte;

  const ran = summaries.filter((summary) => summary.streams.some((row) => row.stream === stream));
  const rows = ran.map((summary) => summary.streams.find((row) => row.stream === stream)!);
  const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0);
  const listed = await deps.catalog.listShards(stream).catch(() => null);
  const described = await deps.catalog.describeStream(stream).catch(() => null);
  const shards = listed?.length || Math.round(mean(rows.map((row) => row.shards)));

  return {
    stream,
    shards,
    openShards: listed ? listed.filter((shard) => !shard.endingSequenceNumber).length : shards,
    capacityMode: described ? (described.capacityMode ?? 'provisioned') : null,
    lastRunReadMode: rows[0]?.read?.mode ?? null,
    storedBytes,
    historyDays: objects.length ? (now - oldest) / DAY_MS : 0,
    monthlyObjects: perMonth(recent.length),
    monthlyCompressedBytes,
    monthlyRecords,
    monthlyRawBytes: monthlyRecords * (sample.records ? sample.rawBytes / sample.records : 0),
    monthlyLineBytes: monthlyRecords * (sample.records ? sample.lineBytes / sample.records : 0),
    monthlyHours: perMonth(recentHours),
    columnarBytes: parquet.length > 0 ? parquet.reduce((sum, o) => sum + o.bytes, 0) : null,
    firehoseBilledBytesPerRecord: sample.records ? sample.firehoseBytes / sample.records : 0,
    runsPerMonth: options.runsPerMonth ?? runsPerMonthOf(ran),
    runHistory: options.runsPerMonth ? { source: 'given' } : { source: 'observed', ...runSpan(ran) },
    perRun: {
      archiveShardInvocations: mean(rows.map((row) => row.usage?.invocations ?? 0)),
      archiveShardGbSeconds: mean(rows.map((row) => row.usage?.gbSeconds ?? 0)),
    },
  };
}

function runSpan(runs: ArchiveSummary[]): { runs: number; spanHours: number } {
  const times = runs.map((run) => Date.parse(run.finishedAt));
  return {
    runs: runs.length,
    spanHours: times.length ? (Math.max(...times) - Math.min(...times)) / HOUR_MS : 0,
  };
}

/** How often runs happen, from the spacing of the recent ones (one run alone: hourly, the default schedule). */
function runsPerMonthOf(runs: ArchiveSummary[]): number {
  if (runs.length < 2) return DAYS_PER_MONTH * 24;
  const times = runs.map((run) => Date.parse(run.finishedAt)).sort((a, b) => a - b);
  const spacing = (times.at(-1)! - times[0]!) / (times.length - 1);
  return (DAYS_PER_MONTH * DAY_MS) / Math.max(60_000, spacing);
}

async function sampleRecords(
  store: ObjectStore,
  objects: { key: string; bytes: number }[],
  prices: PriceTable,
) {
  const totals = { records: 0, compressedBytes: 0, rawBytes: 0, lineBytes: 0, firehoseBytes: 0 };
  for (const object of objects) {
    const lines = await readArchiveObject(store, object.key);
    totals.compressedBytes += object.bytes;
    for (const line of lines) {
      const payload = decodePayload(line.data, line.encoding);
      const bytes = Buffer.byteLength(line.partitionKey) + payload.length;
      totals.records += 1;
      totals.rawBytes += bytes;
      // The line as the archiver wrote it (its newline included).
      totals.lineBytes += Buffer.byteLength(serializeRecordLine({ ...line, data: payload })) + 1;
      totals.firehoseBytes += firehoseBilledBytes(bytes, prices.firehose.recordRoundingKiB);
    }
  }
  return totals;
}
