/**
 * The Glue Data Catalog and Athena side of the archive, in one place: the database, the two tables
 * (their Glue `TableInput`, which serverless.yml takes through deploy/athena.cjs), the workgroup's
 * name and the Trino SQL of the `records` view (created by `reservoir sql --engine athena`).
 *
 * Both tables use partition projection (no crawler, no MSCK REPAIR): Athena computes the partitions
 * from the table properties below, checked against
 * https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html
 * (`projection.enabled`, `projection.<col>.type` = injected | enum | integer | date,
 * `projection.<col>.range`, `.format`, `.interval`, `.interval.unit`, `.digits`,
 * `storage.location.template`).
 *
 * Pure: no SDK; serverless.yml, the CLI and the tests share it.
 */

import { RECORD_LINE_COLUMNS, RECORDS_COLUMNS, RECORDS_KEY, RECORDS_VIEW } from '../sql/records-view';

export const JSONL_TABLE = 'archive_jsonl';
export const COLUMNAR_TABLE = 'archive_columnar';

/** Glue database of a stage: `reservoir_{stage}` (Glue and Athena names take no `-`). */
export function databaseName(stage: string): string {
  return `reservoir_${stage.replace(/-/g, '_').toLowerCase()}`;
}

/** Athena workgroup of a stage. */
export function workGroupName(stage: string): string {
  return `reservoir-${stage}`;
}

/** Where the workgroup writes query results, under the archive prefix (a lifecycle rule expires them). */
export const ATHENA_RESULTS_DIR = 'athena-results/';

/**
 * How far back `dt` is projected: Athena enumerates every (dt, hr) in the range for a query that
 * does not bound `dt` (an empty one costs a LIST, no bytes scanned). Five years of hours.
 */
export const DT_PROJECTION_RANGE = 'NOW-5YEARS,NOW';

/** Partition columns of both tables, as the archive layout names them (DESIGN.md "Archive layout"). */
export const PARTITION_KEYS = [
  { Name: 'stream', Type: 'string' },
  { Name: 'dt', Type: 'string' },
  { Name: 'hr', Type: 'string' },
] as const;

/**
 * Partition projection of `stream/dt/hr`. `stream` is `injected`: Athena takes its value from the
 * query's WHERE clause (`stream = 'orders'`), so every query must name its stream(s), and any
 * stream archived later (tagged, not listed at deploy time) is queryable without a deploy. An
 * `enum` would need the streams at deploy time and would silently leave out every other one.
 */
export function projectionParameters(location: string): Record<string, string> {
  return {
    'projection.enabled': 'true',
    'projection.stream.type': 'injected',
    'projection.dt.type': 'date',
    'projection.dt.format': 'yyyy-MM-dd',
    'projection.dt.range': DT_PROJECTION_RANGE,
    'projection.dt.interval': '1',
    'projection.dt.interval.unit': 'DAYS',
    'projection.hr.type': 'integer',
    'projection.hr.range': '0,23',
    'projection.hr.digits': '2',
    'storage.location.template': `${location}stream=\${stream}/dt=\${dt}/hr=\${hr}/`,
  };
}

/** Glue types of the record line's fields (read_json's DuckDB types, mapped). */
const GLUE_TYPE: Record<string, string> = { VARCHAR: 'string', BIGINT: 'bigint' };

/** `archive_jsonl`'s columns: the record line's fields but `stream` (the partition), lower-cased. */
export const JSONL_COLUMNS: readonly { Name: string; Type: string }[] = Object.entries(RECORD_LINE_COLUMNS)
  .filter(([field]) => field !== 'stream')
  .map(([field, type]) => ({ Name: field.toLowerCase(), Type: GLUE_TYPE[type]! }));

/**
 * `archive_columnar`'s columns: the `records` view's (the Parquet files' own) but `source` and
 * `stream` (the partition key, which Glue does not allow as a column too), with their Hive types.
 */
export const COLUMNAR_COLUMNS: readonly { Name: string; Type: string }[] = RECORDS_COLUMNS.filter(
  (c) => c.field !== null && c.name !== 'stream',
).map((c) => ({ Name: c.name, Type: c.hiveType }));

/**
 * A Glue `TableInput` (the shape of AWS::Glue::Table's TableInput), with `location` the table's
 * S3 URL ending in `/`. serverless.yml passes a location holding `${ArchiveBucket}` for Fn::Sub,
 * which is why `${...}` of the template are written `${!...}` when `forSub` is set.
 */
export function tableInput(
  kind: 'jsonl' | 'columnar',
  location: string,
  options: { forSub?: boolean } = {},
): Record<string, unknown> {
  const parameters = projectionParameters(location);
  if (options.forSub)
    parameters['storage.location.template'] = parameters['storage.location.template']!.replace(
      /\$\{(stream|dt|hr)\}/g,
      '${!$1}',
    );
  if (kind === 'jsonl')
    return {
      Name: JSONL_TABLE,
      Description: 'reservoir archive: gzip JSON Lines, one record per line (DESIGN.md "Archive layout")',
      TableType: 'EXTERNAL_TABLE',
      PartitionKeys: PARTITION_KEYS,
      Parameters: { ...parameters, classification: 'json', compressionType: 'gzip' },
      StorageDescriptor: {
        Columns: JSONL_COLUMNS,
        Location: location,
        InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
        OutputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
        SerdeInfo: {
          SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
          // Column names are the record line's field names lower-cased; the SerDe matches keys
          // case-insensitively (its default, said explicitly).
          Parameters: { 'case.insensitive': 'true' },
        },
      },
    };
  return {
    Name: COLUMNAR_TABLE,
    Description:
      'reservoir columnar archive: hourly Parquet (zstd) with the records view columns (DESIGN.md "Columnar archive")',
    TableType: 'EXTERNAL_TABLE',
    PartitionKeys: PARTITION_KEYS,
    Parameters: { ...parameters, classification: 'parquet' },
    StorageDescriptor: {
      Columns: COLUMNAR_COLUMNS,
      Location: location,
      InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
      OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
      SerdeInfo: {
        SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
        Parameters: { 'serialization.format': '1' },
      },
    },
  };
}

const q = (name: string) => `"${name}"`;

/**
 * The JSONL side's expression of each view column (Trino SQL). `arrival_time` is a TIMESTAMP (no
 * time zone) holding UTC, millisecond precision, like the Parquet column and the DuckDB view.
 */
function jsonlExpression(column: (typeof RECORDS_COLUMNS)[number]): string {
  if (column.name === 'stream') return 'j."stream"';
  if (column.name === 'arrival_time')
    return `date_add('millisecond', j."arrivaltimestamp", TIMESTAMP '1970-01-01 00:00:00.000')`;
  return `j.${q(column.field!.toLowerCase())}`;
}

/**
 * The `records` view in Athena (Trino SQL), with the embedded engine's columns, in order, and its
 * key. An hour that has Parquet is read from `archive_columnar`, every other hour from
 * `archive_jsonl`: both tables are one UNION ALL, `has_columnar` (a window over the hour) says
 * whether the hour has Parquet rows, and JSONL rows of such hours are dropped. The Parquet rows
 * are de-duplicated on the key (`ROW_NUMBER()`, columnar first): files of a generation no manifest
 * lists (a crashed conversion, a previous generation not deleted yet) are in the table too, and
 * every generation of an hour holds each of its records, so one row per key is the record.
 *
 * Queries must name their stream(s) (`WHERE stream = 'orders'`): `stream` is injected, and Trino
 * pushes that predicate through both windows (each partitions by `stream`) and the UNION ALL into
 * both table scans. (A NOT EXISTS anti-join would need the predicate inferred across the join.)
 * Athena still scans the JSONL of converted hours (a filter after the scan does not prune files):
 * the bytes saved come from expiring JSONL after conversion, or from querying `archive_columnar`
 * with `dt`/`hr` bounds.
 */
export function athenaRecordsViewSql(database: string): string {
  const table = (name: string) => `${q(database)}.${q(name)}`;
  const dataColumns = RECORDS_COLUMNS.filter((c) => c.field !== null);
  const names = dataColumns.map((c) => q(c.name)).join(', ');
  const key = RECORDS_KEY.map(q).join(', ');
  return [
    `CREATE OR REPLACE VIEW ${table(RECORDS_VIEW)} AS`,
    `SELECT ${names}, 'archive' AS "source"`,
    'FROM (',
    `  SELECT ${names}, "columnar",`,
    '    max("columnar") OVER (PARTITION BY "stream", "dt", "hr") AS "has_columnar",',
    `    ROW_NUMBER() OVER (PARTITION BY ${key} ORDER BY "columnar" DESC) AS "copy"`,
    '  FROM (',
    `    SELECT ${dataColumns.map((c) => `c.${q(c.name)}`).join(', ')}, c."dt", c."hr", 1 AS "columnar"`,
    `    FROM ${table(COLUMNAR_TABLE)} c`,
    '    UNION ALL',
    `    SELECT ${dataColumns.map((c) => `${jsonlExpression(c)} AS ${q(c.name)}`).join(', ')}, j."dt", j."hr", 0 AS "columnar"`,
    `    FROM ${table(JSONL_TABLE)} j`,
    '  ) u',
    ') r',
    'WHERE "copy" = 1 AND ("columnar" = 1 OR "has_columnar" = 0)',
  ].join('\n');
}
