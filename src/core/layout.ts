/**
 * The S3 layout (DESIGN.md): a public contract, read by Athena, Hive, Drill and DuckDB.
 *
 *   {prefix}archive/stream={stream}/dt={YYYY-MM-DD}/hr={HH}/{shardId}/{firstSeq}-{lastSeq}.jsonl.gz
 *   {prefix}checkpoints/stream={stream}/{shardId}.json
 */
export interface HourPartition {
  dt: string;
  hr: string;
}

export function normalizePrefix(prefix: string): string {
  if (prefix === '' || prefix === '/') return '';
  const trimmed = prefix.replace(/^\/+/, '');
  return trimmed.endsWith('/') ? trimmed : `${trimmed}/`;
}

export function hourPartition(epochMillis: number): HourPartition {
  const iso = new Date(epochMillis).toISOString();
  return { dt: iso.slice(0, 10), hr: iso.slice(11, 13) };
}

/** Start of the UTC hour holding the instant, in epoch milliseconds. */
export function hourStart(epochMillis: number): number {
  return Math.floor(epochMillis / 3_600_000) * 3_600_000;
}

export function archiveObjectKey(
  prefix: string,
  stream: string,
  shardId: string,
  arrivalTimestamp: number,
  firstSequenceNumber: string,
  lastSequenceNumber: string,
): string {
  const { dt, hr } = hourPartition(arrivalTimestamp);
  return `${archiveStreamPrefix(prefix, stream)}dt=${dt}/hr=${hr}/${shardId}/${firstSequenceNumber}-${lastSequenceNumber}.jsonl.gz`;
}

export function archiveStreamPrefix(prefix: string, stream: string): string {
  return `${normalizePrefix(prefix)}archive/stream=${stream}/`;
}

export function checkpointKey(prefix: string, stream: string, shardId: string): string {
  return `${checkpointStreamPrefix(prefix, stream)}${shardId}.json`;
}

export function checkpointStreamPrefix(prefix: string, stream: string): string {
  return `${normalizePrefix(prefix)}checkpoints/stream=${stream}/`;
}

export function checkpointsPrefix(prefix: string): string {
  return `${normalizePrefix(prefix)}checkpoints/`;
}

/** The streams that have checkpoints, from the keys under checkpointsPrefix(), sorted. */
export function streamsOfCheckpointKeys(keys: string[]): string[] {
  const names = keys.map((key) => /checkpoints\/stream=([^/]+)\//.exec(key)?.[1]);
  return [...new Set(names.filter((name): name is string => Boolean(name)))].sort();
}

/** Working files of one execution (plans, per-shard results, summary); expire by lifecycle. */
export function runPrefix(prefix: string, workflow: string, runId: string): string {
  return `${normalizePrefix(prefix)}runs/${workflow}/${runId}/`;
}

/**
 * Where the Distributed Maps of a workflow write their children's results (ResultWriter):
 * Step Functions adds {mapRunId}/manifest.json and the result files below it. Under runs/, so the
 * bucket's lifecycle rule expires them with the other working files. statemachines/*.asl.yml
 * spell it as ${ArchivePrefix}runs/map-results/{workflow} (ResultWriter.Prefix has no trailing /).
 */
export function mapResultsPrefix(prefix: string, workflow: 'archive' | 'replay' | 'compact'): string {
  return `${normalizePrefix(prefix)}runs/map-results/${workflow}/`;
}

export interface ArchiveObjectRef {
  stream: string;
  dt: string;
  hr: string;
  shardId: string;
  firstSequenceNumber: string;
  lastSequenceNumber: string;
}

const ARCHIVE_KEY =
  /archive\/stream=([^/]+)\/dt=(\d{4}-\d{2}-\d{2})\/hr=(\d{2})\/([^/]+)\/(\d+)-(\d+)\.jsonl\.gz$/;

export function parseArchiveObjectKey(key: string): ArchiveObjectRef | null {
  const match = ARCHIVE_KEY.exec(key);
  if (!match) return null;
  const [, stream, dt, hr, shardId, first, last] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  return { stream, dt, hr, shardId, firstSequenceNumber: first, lastSequenceNumber: last };
}
