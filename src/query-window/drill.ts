import { RECORDS_COLUMNS, RECORDS_KEY } from '../sql/records-view';
import {
  DRILL_VIEW_SOURCES,
  drillViewSourceList,
  type DrillViewSource,
  type DrillViewSources,
} from './files';

/**
 * Apache Drill's side of a query window (pure: text from the window's spec).
 *
 * storage-plugins-override.conf (Drill 1.14+, read by each drillbit at startup, HOCON: written
 * here in its JSON subset) registers two storage plugins:
 *   hive       the cluster's Hive metastore (thrift on the master node): the tables of
 *              hive/create-tables.q, reached through Drill's Hive plugin;
 *   reservoir  the archive bucket over s3a, with workspaces `data` (read-only, the prefix: the
 *              archive and the window's live snapshot) and `views` (writable, under the window's
 *              run files: Drill keeps view definitions as files).
 * The master's address is known only on the cluster: the bootstrap action replaces MASTER_HOST.
 *
 * records-{sources}.sql creates reservoir.views.records, the same view as Hive's `records`.
 */

/** Replaced by install-drill.sh with the master node's private DNS name. */
export const MASTER_HOST = '@MASTER_HOST@';

export const DRILL_PORTS = {
  /** Drill's web UI and REST API. */
  drillWeb: 8047,
  /** Drill's user port: JDBC (jdbc:drill:drillbit=host:31010) and ODBC clients. */
  drillJdbc: 31010,
  /** HiveServer2 (jdbc:hive2://host:10000/reservoir). */
  hiveServer2: 10000,
  hiveMetastore: 9083,
  hdfs: 8020,
} as const;

export interface FileWorkspace {
  location: string;
  writable: boolean;
  defaultInputFormat: string | null;
}

export interface FormatConfig {
  type: string;
  /** Drill's parquet format finds its files itself (by extension and magic): no list. */
  extensions?: string[];
}

export interface HivePluginConfig {
  type: 'hive';
  enabled: boolean;
  configProps: Record<string, string>;
}

export interface FilePluginConfig {
  type: 'file';
  enabled: boolean;
  connection: string;
  config: Record<string, string>;
  workspaces: Record<string, FileWorkspace>;
  formats: Record<string, FormatConfig>;
}

export interface StoragePluginsOverride {
  storage: { hive: HivePluginConfig; reservoir: FilePluginConfig };
}

export interface DrillSpec {
  bucket: string;
  region: string;
  /** /{prefix} as a path in the bucket ("/" without a prefix). */
  dataPath: string;
  /** The live snapshot, relative to dataPath (runs/query-window/{windowId}/live). */
  liveDirectory: string;
  /** /{prefix}runs/query-window/{windowId}/drill-views */
  viewsPath: string;
  streams: string[];
}

/** s3a settings shared by both plugins: the nodes' instance profile, the bucket's region. */
function s3aConfig(region: string): Record<string, string> {
  return {
    'fs.s3a.endpoint': `s3.${region}.amazonaws.com`,
    'fs.s3a.aws.credentials.provider': 'com.amazonaws.auth.InstanceProfileCredentialsProvider',
  };
}

export function storagePluginsOverride(spec: DrillSpec): StoragePluginsOverride {
  return {
    storage: {
      hive: {
        type: 'hive',
        enabled: true,
        configProps: {
          'hive.metastore.uris': `thrift://${MASTER_HOST}:${DRILL_PORTS.hiveMetastore}`,
          'hive.metastore.sasl.enabled': 'false',
          'fs.default.name': `hdfs://${MASTER_HOST}:${DRILL_PORTS.hdfs}/`,
          // Hive's tables are on s3:// (EMRFS); Drill reads them with s3a.
          'fs.s3.impl': 'org.apache.hadoop.fs.s3a.S3AFileSystem',
          ...s3aConfig(spec.region),
        },
      },
      reservoir: {
        type: 'file',
        enabled: true,
        connection: `s3a://${spec.bucket}`,
        config: s3aConfig(spec.region),
        workspaces: {
          data: { location: spec.dataPath, writable: false, defaultInputFormat: 'json' },
          views: { location: spec.viewsPath, writable: true, defaultInputFormat: null },
        },
        formats: {
          // Record lines, gzip-compressed: Drill picks the codec from .gz, then the format from .jsonl.
          json: { type: 'json', extensions: ['jsonl', 'json'] },
          // The hourly Parquet under columnar/ (each hour's _manifest.json is skipped: Drill ignores
          // files whose names start with '_' or '.').
          parquet: { type: 'parquet' },
        },
      },
    },
  };
}

/** The conf file's text: HOCON, in its JSON subset. */
export function storagePluginsOverrideText(spec: DrillSpec): string {
  return `${JSON.stringify(storagePluginsOverride(spec), null, 2)}\n`;
}

/** `name` quoted as a Drill identifier. */
export function drillIdentifier(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

function drillString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** How a source ranks when a record is in more than one: Parquet, then record lines, then live. */
const SOURCE_RANK: Record<DrillViewSource, number> = { columnar: 0, archive: 1, live: 2 };

function sourceSelect(source: DrillViewSource, spec: DrillSpec): string {
  const alias = source[0]!;
  const a = drillIdentifier(alias);
  const table = source === 'live' ? spec.liveDirectory : source;
  // RECORDS_COLUMNS' types are DuckDB's; Drill has the same VARCHAR and BIGINT.
  const expression = (name: string, field: string | null, type: string): string => {
    if (field === null) return drillString(source === 'live' ? 'live' : 'archive');
    // Parquet has the view's own columns and types (arrival_time: TIMESTAMP_MICROS, read as TIMESTAMP).
    if (source === 'columnar') return `${a}.${drillIdentifier(name)}`;
    const value = `${a}.${drillIdentifier(field)}`;
    if (field === 'arrivalTimestamp') return `TO_TIMESTAMP(CAST(${value} AS DOUBLE) / 1000.0)`;
    return `CAST(${value} AS ${type})`;
  };
  const columns = RECORDS_COLUMNS.map(
    (c) => `${expression(c.name, c.field, c.type)} AS ${drillIdentifier(c.name)}`,
  );
  // dir0..dir2 are stream=/dt=/hr= in both archive trees: the hour a row is of (NULL for live rows).
  for (const dir of ['dir1', 'dir2'])
    columns.push(
      `${source === 'live' ? 'CAST(NULL AS VARCHAR)' : `${a}.${drillIdentifier(dir)}`} AS ${drillIdentifier(dir)}`,
    );
  columns.push(`${SOURCE_RANK[source]} AS ${drillIdentifier('source_rank')}`);
  const streams = spec.streams.map(drillString).join(', ');
  // dir0 is the first directory below the table: stream=NAME, which lets Drill prune the others.
  const directories = spec.streams.map((s) => drillString(`stream=${s}`)).join(', ');
  return [
    `    SELECT ${columns.join(',\n      ')}`,
    `    FROM ${drillIdentifier('reservoir')}.${drillIdentifier('data')}.${drillIdentifier(table)} AS ${a}`,
    `    WHERE ${a}.${drillIdentifier('dir0')} IN (${directories}) AND ${a}.${drillIdentifier('stream')} IN (${streams})`,
  ].join('\n');
}

/**
 * reservoir.views.records over the sources that hold data: de-duplicated, Parquet first, then the
 * record lines, then the live snapshot. An hour that has Parquet rows is read from them only (its
 * record lines are dropped, as in Hive's and Athena's views); files of a generation no manifest
 * lists only add copies the key removes.
 */
export function drillRecordsView(spec: DrillSpec, sources: DrillViewSources): string {
  const u = drillIdentifier('u');
  const selects = drillViewSourceList(sources).map((source) => sourceSelect(source, spec));
  const key = RECORDS_KEY.map((c) => `${u}.${drillIdentifier(c)}`).join(', ');
  const hour = ['stream', 'dir1', 'dir2'].map((c) => `${u}.${drillIdentifier(c)}`).join(', ');
  const rank = `${u}.${drillIdentifier('source_rank')}`;
  const ranked = drillIdentifier('ranked');
  const at = (column: string) => `${ranked}.${drillIdentifier(column)}`;
  return [
    `CREATE OR REPLACE VIEW ${drillIdentifier('reservoir')}.${drillIdentifier('views')}.${drillIdentifier('records')} AS`,
    `SELECT ${RECORDS_COLUMNS.map((c) => at(c.name)).join(', ')}`,
    `FROM (`,
    `  SELECT ${RECORDS_COLUMNS.map((c) => `${u}.${drillIdentifier(c.name)}`).join(', ')}, ${rank},`,
    `    MIN(${rank}) OVER (PARTITION BY ${hour}) AS ${drillIdentifier('hour_rank')},`,
    `    ROW_NUMBER() OVER (PARTITION BY ${key} ORDER BY ${rank}) AS ${drillIdentifier('copy_rank')}`,
    `  FROM (`,
    selects.join('\n    UNION ALL\n'),
    `  ) AS ${u}`,
    `) AS ${ranked}`,
    `WHERE ${at('copy_rank')} = 1 AND (${at('source_rank')} <> ${SOURCE_RANK.archive} OR ${at('hour_rank')} = ${SOURCE_RANK.archive})`,
  ].join('\n');
}

/** The view variants configure-drill.sh chooses from, by the sources that hold data. */
export function drillRecordsViews(spec: DrillSpec, withLive: boolean): Map<DrillViewSources, string> {
  const available = DRILL_VIEW_SOURCES.filter((source) => withLive || source !== 'live');
  // Every non-empty subset, in rank order: the names configure-drill.sh builds from what holds data.
  const variants = Array.from({ length: 2 ** available.length - 1 }, (_, i) =>
    available.filter((_, bit) => ((i + 1) >> bit) & 1).join('-'),
  ).sort((a, b) => a.split('-').length - b.split('-').length);
  return new Map(variants.map((sources) => [sources, `${drillRecordsView(spec, sources)}\n`]));
}
