import { createHash } from 'node:crypto';
import { RECORDS_COLUMNS, RECORDS_KEY, RECORDS_VIEW } from '../sql/records-view';

/**
 * HiveQL of a query window (pure: text from the window's spec). The archive's record lines
 * (DESIGN.md "Archive layout") are read with Hive's JSON SerDe from an external table partitioned
 * like the archive, stream/dt/hr; the snapshot of the tail not archived yet has the same lines,
 * partitioned by stream. The `records` view is the contract shared with the embedded engine
 * (src/sql/records-view.ts: RECORDS_COLUMNS, with their Hive types, and RECORDS_KEY): one row per
 * (stream, shard_id, sequence_number, sub_sequence_number), the archive's copy when both sources
 * have the record; arrival_time a UTC timestamp.
 */

export const DATABASE = 'reservoir';
export const ARCHIVE_TABLE = 'archive_records';
export const LIVE_TABLE = 'live_snapshot';
export const COLUMNAR_TABLE = 'archive_columnar';
export { RECORDS_VIEW };
export const JSON_SERDE = 'org.apache.hive.hcatalog.data.JsonSerDe';
export const KINESIS_STORAGE_HANDLER = 'com.amazon.emr.kinesis.hive.KinesisStorageHandler';
/** Where EMR installs the JSON SerDe's jar (cluster Configurations add it to hive.aux.jars.path). */
export const HCATALOG_JAR = '/usr/lib/hive-hcatalog/share/hcatalog/hive-hcatalog-core.jar';

/** The records view's column names, in order (the contract with `reservoir sql`). */
export const RECORDS_COLUMN_NAMES = RECORDS_COLUMNS.map((c) => c.name);

export interface HiveTablesSpec {
  windowId: string;
  /** s3://bucket/{prefix}archive/ */
  archiveLocation: string;
  /** s3://bucket/{prefix}runs/query-window/{windowId}/live/, or null without a live snapshot. */
  liveLocation: string | null;
  /** s3://bucket/{prefix}columnar/ (the hourly Parquet), or null to read the record lines only. */
  columnarLocation?: string | null;
  streams: string[];
}

/** `name` quoted as a Hive identifier. */
export function hiveIdentifier(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** `text` as a Hive string literal (backslash escapes, as Hive reads them). */
export function hiveString(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function qualified(table: string): string {
  return `${hiveIdentifier(DATABASE)}.${hiveIdentifier(table)}`;
}

/**
 * The record line's fields as Hive columns: Hive lower-cases names, and the JSON SerDe matches JSON
 * keys to them case-insensitively. `stream` is the partition column (the folder name, equal to the
 * line's own field).
 */
const LINE_COLUMNS: [string, string][] = [
  ['shardid', 'STRING'],
  ['sequencenumber', 'STRING'],
  ['subsequencenumber', 'BIGINT'],
  ['partitionkey', 'STRING'],
  ['arrivaltimestamp', 'BIGINT'],
  ['data', 'STRING'],
  ['encoding', 'STRING'],
];

function lineTable(table: string, partitions: string[], location: string): string {
  const columns = LINE_COLUMNS.map(([name, type]) => `  ${hiveIdentifier(name)} ${type}`).join(',\n');
  const partitionedBy = partitions.map((name) => `${hiveIdentifier(name)} STRING`).join(', ');
  return [
    `CREATE EXTERNAL TABLE IF NOT EXISTS ${qualified(table)} (`,
    columns,
    `)`,
    `PARTITIONED BY (${partitionedBy})`,
    `ROW FORMAT SERDE ${hiveString(JSON_SERDE)}`,
    `STORED AS TEXTFILE`,
    `LOCATION ${hiveString(location)};`,
  ].join('\n');
}

/**
 * The hourly Parquet (DESIGN.md "Columnar archive"): the records view's columns but `source` and
 * `stream` (the partition). `arrival_time` is declared BIGINT and read as such: DuckDB writes it as
 * INT64 TIMESTAMP_MICROS, which the Parquet readers of Hive 2.3/3.1 do not map to TIMESTAMP.
 */
function columnarTable(location: string): string {
  const columns = RECORDS_COLUMNS.filter((c) => c.field !== null && c.name !== 'stream')
    .map(
      (c) => `  ${hiveIdentifier(c.name)} ${c.name === 'arrival_time' ? 'BIGINT' : c.hiveType.toUpperCase()}`,
    )
    .join(',\n');
  return [
    `CREATE EXTERNAL TABLE IF NOT EXISTS ${qualified(COLUMNAR_TABLE)} (`,
    columns,
    `)`,
    `PARTITIONED BY (\`stream\` STRING, \`dt\` STRING, \`hr\` STRING)`,
    `STORED AS PARQUET`,
    `LOCATION ${hiveString(location)};`,
  ].join('\n');
}

function columnarSelect(streams: string[]): string {
  const c = hiveIdentifier('c');
  const columns = RECORDS_COLUMNS.map((column) => {
    const name = hiveIdentifier(column.name);
    if (column.field === null) return `${hiveString('archive')} AS ${name}`;
    if (column.name === 'arrival_time') return `CAST(${c}.${name} / 1000000.0 AS TIMESTAMP) AS ${name}`;
    return `${c}.${name} AS ${name}`;
  });
  columns.push(`${c}.\`dt\` AS \`dt\``, `${c}.\`hr\` AS \`hr\``, `0 AS ${hiveIdentifier('source_rank')}`);
  return [
    `    SELECT ${columns.join(',\n      ')}`,
    `    FROM ${qualified(COLUMNAR_TABLE)} ${c}`,
    `    WHERE ${c}.${hiveIdentifier('stream')} IN (${streams.map(hiveString).join(', ')})`,
  ].join('\n');
}

function sourceSelect(table: string, alias: string, source: 'archive' | 'live', streams: string[]): string {
  const a = hiveIdentifier(alias);
  const expression = (field: string | null, hiveType: string): string => {
    if (field === null) return hiveString(source);
    const column = `${a}.${hiveIdentifier(field.toLowerCase())}`;
    // Epoch milliseconds as a UTC timestamp: a fractional number of seconds, cast (the nodes run in UTC).
    if (field === 'arrivalTimestamp') return `CAST(${column} / 1000.0 AS TIMESTAMP)`;
    return `CAST(${column} AS ${hiveType.toUpperCase()})`;
  };
  const columns = RECORDS_COLUMNS.map(
    (c) => `${expression(c.field, c.hiveType)} AS ${hiveIdentifier(c.name)}`,
  );
  // dt/hr say which hour a row is of (NULL for live rows): hours with Parquet drop their JSONL rows.
  if (source === 'archive') columns.push(`${a}.\`dt\` AS \`dt\``, `${a}.\`hr\` AS \`hr\``);
  else columns.push('CAST(NULL AS STRING) AS `dt`', 'CAST(NULL AS STRING) AS `hr`');
  columns.push(`${source === 'archive' ? 1 : 2} AS ${hiveIdentifier('source_rank')}`);
  return [
    `    SELECT ${columns.join(',\n      ')}`,
    `    FROM ${qualified(table)} ${a}`,
    `    WHERE ${a}.${hiveIdentifier('stream')} IN (${streams.map(hiveString).join(', ')})`,
  ].join('\n');
}

/**
 * The records view over the archive table (and the live snapshot table, and the Parquet table):
 * de-duplicated, Parquet first, then the record lines, then the live snapshot. An hour that has
 * Parquet rows is read from them only (its JSONL rows are dropped, as in the Athena view); leftover
 * files of a generation no manifest lists only add copies the key removes.
 */
export function recordsViewStatement(
  spec: Pick<HiveTablesSpec, 'liveLocation' | 'streams' | 'columnarLocation'>,
): string {
  const u = hiveIdentifier('u');
  const sources = [sourceSelect(ARCHIVE_TABLE, 'a', 'archive', spec.streams)];
  if (spec.columnarLocation) sources.unshift(columnarSelect(spec.streams));
  if (spec.liveLocation) sources.push(sourceSelect(LIVE_TABLE, 'l', 'live', spec.streams));
  const key = RECORDS_KEY.map((c) => `${u}.${hiveIdentifier(c)}`).join(', ');
  const rank = `${u}.${hiveIdentifier('source_rank')}`;
  const hour = ['stream', 'dt', 'hr'].map((c) => `${u}.${hiveIdentifier(c)}`).join(', ');
  const ranked = hiveIdentifier('ranked');
  return [
    `CREATE VIEW ${qualified(RECORDS_VIEW)} AS`,
    `SELECT ${RECORDS_COLUMN_NAMES.map((c) => `${ranked}.${hiveIdentifier(c)}`).join(', ')}`,
    `FROM (`,
    `  SELECT ${RECORDS_COLUMN_NAMES.map((c) => `${u}.${hiveIdentifier(c)}`).join(', ')}, ${rank},`,
    `    MIN(${rank}) OVER (PARTITION BY ${hour}) AS ${hiveIdentifier('hour_rank')},`,
    `    ROW_NUMBER() OVER (PARTITION BY ${key} ORDER BY ${rank}) AS ${hiveIdentifier('copy_rank')}`,
    `  FROM (`,
    sources.join('\n    UNION ALL\n'),
    `  ) ${u}`,
    `) ${ranked}`,
    `WHERE ${ranked}.${hiveIdentifier('copy_rank')} = 1` +
      ` AND (${ranked}.${hiveIdentifier('source_rank')} <> 1 OR ${ranked}.${hiveIdentifier('hour_rank')} = 1);`,
  ].join('\n');
}

/**
 * hive/create-tables.q: the database, the archive table (partitions registered by MSCK REPAIR,
 * which walks stream=/dt=/hr= under the archive), the live snapshot table, and the records view.
 * Archive objects sit one directory below their hour partition ({shardId}/), so Hive reads
 * partitions recursively (also set cluster-wide by the cluster's Configurations).
 */
export function createTablesScript(spec: HiveTablesSpec): string {
  const statements = [
    `-- reservoir query window ${spec.windowId}: Hive tables over the archive and the records view.`,
    `-- Generated by reservoir (src/query-window/hiveql.ts), streams: ${spec.streams.join(', ')}.`,
    `SET hive.mapred.supports.subdirectories=true;`,
    `SET mapreduce.input.fileinputformat.input.dir.recursive=true;`,
    `SET hive.msck.path.validation=ignore;`,
    `CREATE DATABASE IF NOT EXISTS ${hiveIdentifier(DATABASE)};`,
    lineTable(ARCHIVE_TABLE, ['stream', 'dt', 'hr'], spec.archiveLocation),
    `MSCK REPAIR TABLE ${qualified(ARCHIVE_TABLE)};`,
  ];
  if (spec.columnarLocation) {
    statements.push(
      `-- The hourly Parquet of converted hours (DESIGN.md "Columnar archive").`,
      columnarTable(spec.columnarLocation),
      `MSCK REPAIR TABLE ${qualified(COLUMNAR_TABLE)};`,
    );
  }
  if (spec.liveLocation) {
    statements.push(
      `-- The tail not archived yet when the window opened (removed when the window closes).`,
      lineTable(LIVE_TABLE, ['stream'], spec.liveLocation),
      `MSCK REPAIR TABLE ${qualified(LIVE_TABLE)};`,
    );
  }
  statements.push(`DROP VIEW IF EXISTS ${qualified(RECORDS_VIEW)};`, recordsViewStatement(spec));
  return `${statements.join('\n')}\n`;
}

/**
 * Hive table names of the live streams: kinesis_{stream}, lower-cased, characters Hive does not
 * allow in a name replaced by "_"; names that would collide get a short hash of the stream name.
 */
export function kinesisTableNames(streams: string[]): Map<string, string> {
  const base = (stream: string) => `kinesis_${stream.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`;
  const counts = new Map<string, number>();
  for (const stream of streams) counts.set(base(stream), (counts.get(base(stream)) ?? 0) + 1);
  return new Map(
    streams.map((stream) => {
      const name = base(stream);
      if ((counts.get(name) ?? 0) === 1) return [stream, name];
      const hash = createHash('sha256').update(stream).digest('hex').slice(0, 8);
      return [stream, `${name}_${hash}`];
    }),
  );
}

/**
 * hive/kinesis-tables.q: one table per stream through EMR's Kinesis storage handler. The handler
 * hands Hive each record's payload only (no shard, sequence number or arrival time), so these
 * tables read the stream as it is now but cannot be de-duplicated against the archive: they are
 * next to the records view, not in it.
 */
export function kinesisTablesScript(spec: Pick<HiveTablesSpec, 'windowId' | 'streams'>): string {
  const names = kinesisTableNames(spec.streams);
  const statements = [
    `-- reservoir query window ${spec.windowId}: the live streams through EMR's Kinesis storage handler.`,
    `-- Each row is one record's payload, read from the stream when queried.`,
    `CREATE DATABASE IF NOT EXISTS ${hiveIdentifier(DATABASE)};`,
  ];
  for (const stream of spec.streams) {
    statements.push(
      [
        `CREATE EXTERNAL TABLE IF NOT EXISTS ${qualified(names.get(stream)!)} (${hiveIdentifier('data')} STRING)`,
        `ROW FORMAT SERDE ${hiveString('org.apache.hadoop.hive.serde2.RegexSerDe')}`,
        `WITH SERDEPROPERTIES (${hiveString('input.regex')} = ${hiveString('(?s)(.*)')})`,
        `STORED BY ${hiveString(KINESIS_STORAGE_HANDLER)}`,
        `TBLPROPERTIES (${hiveString('kinesis.stream.name')} = ${hiveString(stream)});`,
      ].join('\n'),
    );
  }
  return `${statements.join('\n')}\n`;
}
