import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { ShardExposure } from '../core/time-to-loss';

/**
 * The metric catalogue (namespace Reservoir). Dimensions: `service` (reservoir-<stage>, set by
 * Powertools) and `Stream`; shard ids go into the EMF line as metadata, searchable in Logs
 * Insights without a metric per shard. Metrics the alarms watch across all streams are also
 * published with `service` alone (alarms cannot use SEARCH over dimensions).
 */
export const METRIC = {
  recordsArchived: 'RecordsArchived',
  bytesArchived: 'BytesArchived',
  archiveLagSeconds: 'ArchiveLagSeconds',
  timeToLossSeconds: 'TimeToLossSeconds',
  timeToLossPercent: 'TimeToLossPercent',
  dataGaps: 'DataGaps',
  openDataGaps: 'OpenDataGaps',
  acknowledgedDataGaps: 'AcknowledgedDataGaps',
  recordsReplayed: 'RecordsReplayed',
  throttledRetries: 'ThrottledRetries',
  compactionRecords: 'CompactionRecords',
  compactionTasks: 'CompactionTasksCompleted',
  hoursConverted: 'HoursConverted',
  hourConversionFailures: 'HourConversionFailures',
} as const;

export interface ArchiveProgress {
  stream: string;
  shardId: string;
  records: number;
  bytes: number;
  /** Null when the shard was not read (waiting for a parent). */
  exposure: ShardExposure | null;
}

export function recordArchiveProgress(metrics: Metrics, progress: ArchiveProgress): void {
  metrics.addDimension('Stream', progress.stream);
  metrics.addMetadata('shardId', progress.shardId);
  metrics.addMetric(METRIC.recordsArchived, MetricUnit.Count, progress.records);
  metrics.addMetric(METRIC.bytesArchived, MetricUnit.Bytes, progress.bytes);
  const exposure = progress.exposure;
  if (!exposure) return;
  const percent = round(exposure.timeToLossFraction * 100);
  metrics.addMetric(METRIC.archiveLagSeconds, MetricUnit.Seconds, round(exposure.lagMs / 1000));
  metrics.addMetric(METRIC.timeToLossSeconds, MetricUnit.Seconds, round(exposure.timeToLossMs / 1000));
  metrics.addMetric(METRIC.timeToLossPercent, MetricUnit.Percent, percent);
  acrossStreams(metrics, METRIC.timeToLossPercent, MetricUnit.Percent, percent, progress);
}

export function recordDataGap(metrics: Metrics, gap: { stream: string; shardId: string }): void {
  metrics.addDimension('Stream', gap.stream);
  metrics.addMetadata('shardId', gap.shardId);
  metrics.addMetric(METRIC.dataGaps, MetricUnit.Count, 1);
  acrossStreams(metrics, METRIC.dataGaps, MetricUnit.Count, 1, gap);
}

/**
 * Per stream, at the end of each archive run: shards with an open gap, and gaps acknowledged (of
 * the shards the run planned). Gauges, so the dashboard keeps showing acknowledged gaps.
 */
export function recordGapCounts(
  metrics: Metrics,
  counts: { stream: string; open: number; acknowledged: number },
): void {
  for (const [name, value] of [
    [METRIC.openDataGaps, counts.open],
    [METRIC.acknowledgedDataGaps, counts.acknowledged],
  ] as const) {
    const single = metrics.singleMetric();
    single.addDimension('Stream', counts.stream);
    single.addMetric(name, MetricUnit.Count, value);
  }
}

export function recordReplayProgress(
  metrics: Metrics,
  progress: { targetStream: string; replayId: string; put: number; throttledRetries: number },
): void {
  metrics.addDimension('Stream', progress.targetStream);
  metrics.addMetadata('replayId', progress.replayId);
  metrics.addMetric(METRIC.recordsReplayed, MetricUnit.Count, progress.put);
  metrics.addMetric(METRIC.throttledRetries, MetricUnit.Count, progress.throttledRetries);
}

/** One partition or merge task of a compaction finished, having read `records`. */
export function recordCompactionProgress(
  metrics: Metrics,
  progress: { stream: string; runId: string; records: number },
): void {
  metrics.addDimension('Stream', progress.stream);
  metrics.addMetadata('compactionRunId', progress.runId);
  metrics.addMetric(METRIC.compactionRecords, MetricUnit.Count, progress.records);
  metrics.addMetric(METRIC.compactionTasks, MetricUnit.Count, 1);
}

function acrossStreams(
  metrics: Metrics,
  name: string,
  unit: (typeof MetricUnit)[keyof typeof MetricUnit],
  value: number,
  about: { stream: string; shardId: string },
): void {
  const single = metrics.singleMetric();
  single.addMetadata('stream', about.stream);
  single.addMetadata('shardId', about.shardId);
  single.addMetric(name, unit, value);
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** An hour converted to Parquet (ConvertHour), or a conversion that failed for good (RecordConversionFailure). */
export function recordHourConversion(
  metrics: Metrics,
  outcome: { stream: string; dt: string; hr: string; failed: boolean },
): void {
  metrics.addDimension('Stream', outcome.stream);
  metrics.addMetadata('hour', `${outcome.dt}T${outcome.hr}`);
  const name = outcome.failed ? METRIC.hourConversionFailures : METRIC.hoursConverted;
  metrics.addMetric(name, MetricUnit.Count, 1);
  if (outcome.failed) {
    const single = metrics.singleMetric();
    single.addMetadata('stream', outcome.stream);
    single.addMetric(name, MetricUnit.Count, 1);
  }
}
