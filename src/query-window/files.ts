import { columnarStreamPrefix } from '../core/columnar';
import { archiveStreamPrefix, normalizePrefix, runPrefix } from '../core/layout';

/**
 * The files of one query window, under {prefix}runs/query-window/{windowId}/ (expired by the
 * bucket's run-files lifecycle rule after 7 days; cleanupQueryWindow removes the live snapshot,
 * the Drill views and the task token as soon as the window closes):
 *
 *   request.json                      the request as resolved (defaults applied)
 *   status.json                       opening | open | closed | timed-out | failed (the CLI reads it)
 *   token.json                        the task token of WaitForClose, while the window is open
 *   close-request.json                `query-window close` before the window was open
 *   hive/create-tables.q              archive and live snapshot tables, the records view
 *   hive/kinesis-tables.q             Kinesis storage handler tables (releases that have it)
 *   drill/storage-plugins-override.conf, drill/records-{sources}.sql
 *   bootstrap/install-drill.sh, steps/configure-drill.sh
 *   live/stream={stream}/{shardId}-{part}.jsonl.gz   the snapshot of the tail not archived yet
 *   live-progress/stream={stream}/{shardId}.json     where each shard's snapshot resumes
 *   drill-views/                      Drill's writable workspace (the view's definition)
 *   logs/                             the cluster's EMR logs
 */
export function queryWindowFiles(prefix: string, windowId: string) {
  const root = runPrefix(prefix, 'query-window', windowId);
  return {
    root,
    request: `${root}request.json`,
    status: `${root}status.json`,
    token: `${root}token.json`,
    closeRequest: `${root}close-request.json`,
    hiveTables: `${root}hive/create-tables.q`,
    kinesisTables: `${root}hive/kinesis-tables.q`,
    drillPlugins: `${root}drill/storage-plugins-override.conf`,
    drillSql: `${root}drill/`,
    drillView: (sources: DrillViewSources) => `${root}drill/records-${sources}.sql`,
    installDrill: `${root}bootstrap/install-drill.sh`,
    configureDrill: `${root}steps/configure-drill.sh`,
    live: `${root}live/`,
    liveObject: (stream: string, shardId: string, part: number) =>
      `${root}live/stream=${stream}/${shardId}-${String(part).padStart(5, '0')}.jsonl.gz`,
    liveProgress: (stream: string, shardId: string) =>
      `${root}live-progress/stream=${stream}/${shardId}.json`,
    drillViews: `${root}drill-views/`,
    logs: `${root}logs/`,
  };
}

export type QueryWindowFiles = ReturnType<typeof queryWindowFiles>;

/** The trees a Drill records view can read, in rank order (Drill cannot read an empty directory as a table). */
export const DRILL_VIEW_SOURCES = ['columnar', 'archive', 'live'] as const;
export type DrillViewSource = (typeof DRILL_VIEW_SOURCES)[number];
/** The sources that hold data, joined by '-' in rank order: 'archive', 'columnar-archive-live'… */
export type DrillViewSources = string;

export function drillViewSourceList(sources: DrillViewSources): DrillViewSource[] {
  const list = sources.split('-');
  const known = DRILL_VIEW_SOURCES.filter((source) => list.includes(source));
  if (known.length === 0 || known.length !== list.length)
    throw new Error(`unknown Drill view sources: ${sources}`);
  return known;
}

/** The archive's root: {prefix}archive/ (every stream=.../dt=.../hr=... partition is under it). */
export function archiveRoot(prefix: string): string {
  return archiveStreamPrefix(prefix, 'x').replace(/stream=x\/$/, '');
}

/** {prefix}columnar/: the hourly Parquet (DESIGN.md "Columnar archive"). */
export function columnarRoot(prefix: string): string {
  return columnarStreamPrefix(prefix, 'x').replace(/stream=x\/$/, '');
}

export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/** The prefix as an absolute path inside the bucket, for Drill workspaces: "" → "/", "kinesis/" → "/kinesis". */
export function bucketPath(prefix: string, key = ''): string {
  const path = `${normalizePrefix(prefix)}${key}`.replace(/\/+$/, '');
  return `/${path}`;
}
