import Ajv from 'ajv';
import {
  DRILL_PORTS,
  drillRecordsView,
  drillRecordsViews,
  MASTER_HOST,
  storagePluginsOverride,
  storagePluginsOverrideText,
  type DrillSpec,
} from '../../src/query-window/drill';
import { bucketPath, queryWindowFiles } from '../../src/query-window/files';
import { RECORDS_COLUMNS, RECORDS_KEY } from '../../src/sql/records-view';

/**
 * Drill's side of a query window, checked against the shapes Drill documents: the
 * storage-plugins-override.conf file ("storage": {name: plugin config}, Drill 1.14+) and the
 * configurations of the file (dfs/S3) and hive storage plugins.
 */

/** The documented shape of the override file and of the two plugin types it uses. */
const OVERRIDE_FILE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['storage'],
  properties: {
    storage: {
      type: 'object',
      minProperties: 1,
      additionalProperties: {
        oneOf: [
          {
            // The file system plugin (dfs, S3): a connection, file system config, workspaces and formats.
            type: 'object',
            additionalProperties: false,
            required: ['type', 'connection', 'workspaces', 'formats', 'enabled'],
            properties: {
              type: { const: 'file' },
              enabled: { type: 'boolean' },
              connection: { type: 'string', pattern: '^(s3a|hdfs|file|maprfs|classpath)://' },
              config: { type: 'object', additionalProperties: { type: 'string' } },
              workspaces: {
                type: 'object',
                additionalProperties: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['location', 'writable', 'defaultInputFormat'],
                  properties: {
                    location: { type: 'string', pattern: '^/' },
                    writable: { type: 'boolean' },
                    defaultInputFormat: { type: ['string', 'null'] },
                    allowAccessOutsideWorkspace: { type: 'boolean' },
                  },
                },
              },
              formats: {
                type: 'object',
                additionalProperties: {
                  type: 'object',
                  required: ['type'],
                  properties: {
                    type: { type: 'string' },
                    extensions: { type: 'array', items: { type: 'string', pattern: '^[a-z0-9]+$' } },
                  },
                },
              },
            },
          },
          {
            // The Hive plugin: Hive's configuration properties, as strings.
            type: 'object',
            additionalProperties: false,
            required: ['type', 'configProps', 'enabled'],
            properties: {
              type: { const: 'hive' },
              enabled: { type: 'boolean' },
              configProps: {
                type: 'object',
                required: ['hive.metastore.uris'],
                additionalProperties: { type: 'string' },
              },
            },
          },
        ],
      },
    },
  },
};

const validateOverride = new Ajv({ allErrors: true, strict: false }).compile(OVERRIDE_FILE_SCHEMA);

const windowId = 'qw-drill-1';
const files = queryWindowFiles('kinesis/', windowId);
const SPEC: DrillSpec = {
  bucket: 'reservoir-archive',
  region: 'eu-west-1',
  dataPath: bucketPath('kinesis/'),
  liveDirectory: files.live.slice('kinesis/'.length).replace(/\/$/, ''),
  viewsPath: bucketPath('', files.drillViews),
  streams: ['orders', 'payments'],
};

describe('query window Drill configuration (src/query-window/drill.ts)', () => {
  it('when the override file is read as JSON (HOCON’s JSON subset), then it has the documented shape', () => {
    const parsed = JSON.parse(storagePluginsOverrideText(SPEC)) as unknown;

    expect(validateOverride(parsed)).toBe(true);
    expect(validateOverride.errors ?? null).toBeNull();
    expect(Object.keys((parsed as { storage: object }).storage).sort()).toEqual(['hive', 'reservoir']);
  });

  it('when the shape check is given a plugin Drill would not read, then it fails (it is not vacuous)', () => {
    const broken = storagePluginsOverride(SPEC) as unknown as {
      storage: { reservoir: { workspaces: { data: { location: string } } }; hive: { configProps: object } };
    };
    broken.storage.reservoir.workspaces.data.location = 'kinesis';
    expect(validateOverride(broken)).toBe(false);
    expect(validateOverride({ storage: { hive: { type: 'hive', enabled: true, configProps: {} } } })).toBe(
      false,
    );
  });

  it('when the Hive plugin is read, then it points at the master’s metastore (filled in on the cluster) and reads s3:// with s3a', () => {
    const { hive } = storagePluginsOverride(SPEC).storage;

    expect(hive.configProps['hive.metastore.uris']).toBe(`thrift://${MASTER_HOST}:9083`);
    expect(hive.configProps['fs.s3.impl']).toBe('org.apache.hadoop.fs.s3a.S3AFileSystem');
    expect(hive.configProps['fs.s3a.endpoint']).toBe('s3.eu-west-1.amazonaws.com');
    // The placeholder is only where the master's address goes; install-drill.sh replaces it.
    const text = storagePluginsOverrideText(SPEC);
    expect(text.split(MASTER_HOST).length - 1).toBe(2);
  });

  it('when the S3 plugin is read, then the data workspace is read-only at the prefix and views are written under the window’s files', () => {
    const { reservoir } = storagePluginsOverride(SPEC).storage;

    expect(reservoir.connection).toBe('s3a://reservoir-archive');
    expect(reservoir.workspaces.data).toEqual({
      location: '/kinesis',
      writable: false,
      defaultInputFormat: 'json',
    });
    expect(reservoir.workspaces.views).toEqual({
      location: `/kinesis/runs/query-window/${windowId}/drill-views`,
      writable: true,
      defaultInputFormat: null,
    });
    expect(reservoir.formats.json!.extensions).toContain('jsonl');
    expect(reservoir.formats.parquet).toEqual({ type: 'parquet' });
    expect(bucketPath('')).toBe('/');
  });

  it('when the records view is generated, then it has the embedded engine’s columns and key, archive first', () => {
    const view = drillRecordsView(SPEC, 'archive-live');
    const outer = /^SELECT (.*)$/m.exec(view)![1]!;

    expect(view.startsWith('CREATE OR REPLACE VIEW `reservoir`.`views`.`records` AS')).toBe(true);
    expect(outer.split(', ').map((c) => c.replace(/`ranked`\.|`/g, ''))).toEqual(
      RECORDS_COLUMNS.map((c) => c.name),
    );
    expect(view).toContain(
      `PARTITION BY ${RECORDS_KEY.map((c) => `\`u\`.\`${c}\``).join(', ')} ORDER BY \`u\`.\`source_rank\``,
    );
    expect(view).toContain('FROM `reservoir`.`data`.`archive` AS `a`');
    expect(view).toContain(`FROM \`reservoir\`.\`data\`.\`runs/query-window/${windowId}/live\` AS \`l\``);
    expect(view).toContain("`a`.`dir0` IN ('stream=orders', 'stream=payments')");
    expect(view).toContain('TO_TIMESTAMP(CAST(`a`.`arrivalTimestamp` AS DOUBLE) / 1000.0) AS `arrival_time`');
    expect(view.split('(').length).toBe(view.split(')').length);
  });

  it('when Drill’s view has only some sources, then each variant reads just those', () => {
    const variants = drillRecordsViews(SPEC, true);

    expect([...variants.keys()]).toEqual([
      'columnar',
      'archive',
      'live',
      'columnar-archive',
      'columnar-live',
      'archive-live',
      'columnar-archive-live',
    ]);
    expect(variants.get('archive')).not.toContain('`l`');
    expect(variants.get('archive')).not.toContain('`data`.`columnar`');
    expect(variants.get('live')).not.toContain('`data`.`archive`');
    expect(variants.get('columnar-live')).not.toContain('`data`.`archive`');
    expect([...drillRecordsViews(SPEC, false).keys()]).toEqual(['columnar', 'archive', 'columnar-archive']);
  });

  it('when the view reads the columnar hours, then Parquet ranks first and record lines of hours with Parquet are dropped', () => {
    const view = drillRecordsView(SPEC, 'columnar-archive-live');

    expect(view).toContain('FROM `reservoir`.`data`.`columnar` AS `c`');
    expect(view).toContain("`c`.`dir0` IN ('stream=orders', 'stream=payments')");
    // Parquet holds the view's own columns: no casts from record-line fields.
    expect(view).toContain('`c`.`partition_key` AS `partition_key`');
    expect(view).toContain('`c`.`arrival_time` AS `arrival_time`');
    expect(view).toMatch(/0 AS `source_rank`[\s\S]*1 AS `source_rank`[\s\S]*2 AS `source_rank`/);
    // The hour of a row is its stream and the dt=/hr= directories; live rows have none.
    expect(view).toContain('MIN(`u`.`source_rank`) OVER (PARTITION BY `u`.`stream`, `u`.`dir1`, `u`.`dir2`)');
    expect(view).toContain('CAST(NULL AS VARCHAR) AS `dir1`');
    expect(view).toContain(
      'WHERE `ranked`.`copy_rank` = 1 AND (`ranked`.`source_rank` <> 1 OR `ranked`.`hour_rank` = 1)',
    );
    expect(view.split('(').length).toBe(view.split(')').length);
  });

  it('when a view is asked for sources Drill does not have, then it refuses', () => {
    expect(() => drillRecordsView(SPEC, 'archive-bogus')).toThrow(/unknown Drill view sources/);
  });

  it('when the ports are listed, then they are Drill’s web and user ports and HiveServer2’s', () => {
    expect(DRILL_PORTS).toMatchObject({ drillWeb: 8047, drillJdbc: 31010, hiveServer2: 10000 });
  });
});
