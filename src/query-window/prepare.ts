import { liveStart } from '../reading/live-start';
import type { ReadDefaults } from '../core/read-policy';
import type { ReadRate } from '../core/read-budget';
import { streamReadPolicy } from '../reading/stream-read-policy';
import type { Checkpoint } from '../core/checkpoint';
import { mapWithConcurrency } from '../core/concurrency';
import { StreamNotFoundError, ValidationError } from '../core/errors';
import type { QueryWindowConfig } from '../config/query-window-config';
import {
  checkpointsPrefix,
  checkpointStreamPrefix,
  normalizePrefix,
  streamsOfCheckpointKeys,
} from '../core/layout';
import type { ObjectStore, StreamCatalog } from '../core/ports';
import { DRILL_PORTS, drillRecordsViews, storagePluginsOverrideText, type DrillSpec } from './drill';
import { bashScriptStep, clusterParameters, hiveScriptStep, type ClusterParameters } from './emr';
import { archiveRoot, bucketPath, columnarRoot, queryWindowFiles, s3Uri } from './files';
import { createTablesScript, kinesisTablesScript } from './hiveql';
import { checkClusterNetwork, type NetworkCatalog } from './network';
import { resolveQueryWindow, type ResolvedQueryWindow } from './request';
import { writeStatus } from './window';

/** One shard whose tail (after its last archived record, up to the window's opening) is snapshotted. */
export interface LiveShard {
  stream: string;
  shardId: string;
  /** Start after this sequence number; null: from the oldest record the shard still has. */
  after: string | null;
  /** The stream's polling rate per shard (its read policy); absent: the default. */
  readRate?: ReadRate;
}

/** prepareQueryWindow's result: $.window in the state machine (keys and small parameters only). */
export interface PreparedQueryWindow {
  windowId: string;
  openedAt: number;
  /** WaitForClose's TimeoutSecondsPath. */
  timeoutSeconds: number;
  streams: string[];
  cluster: ClusterParameters;
  steps: { hiveTables: string[]; kinesisTables: string[]; configureDrill: string[] };
  kinesisTables: boolean;
  live: { snapshot: boolean; shards: LiveShard[] };
  ports: { drillWeb: number; drillJdbc: number; hiveServer2: number };
  /** s3:// of the window's run files. */
  files: string;
  warnings: string[];
}

export interface PrepareDeps extends Pick<
  QueryWindowConfig,
  | 'bucket'
  | 'prefix'
  | 'region'
  | 'stage'
  | 'emrServiceRole'
  | 'emrInstanceProfile'
  | 'drillVersion'
  | 'defaultMinutes'
  | 'maxSnapshotShards'
> {
  store: ObjectStore;
  catalog: StreamCatalog;
  /** The deployment's read settings: each stream's polling rate is resolved here, once. */
  read: ReadDefaults;
  network: NetworkCatalog;
  installDrillScript: () => string;
  configureDrillScript: () => string;
}

/** Streams with checkpoints in the bucket: checkpoints/stream={name}/{shardId}.json. */
async function archivedStreams(store: ObjectStore, prefix: string): Promise<string[]> {
  return streamsOfCheckpointKeys(await store.listKeys(checkpointsPrefix(prefix)));
}

async function checkpointsOf(store: ObjectStore, prefix: string, stream: string): Promise<Checkpoint[]> {
  const keys = await store.listKeys(checkpointStreamPrefix(prefix, stream));
  const values = await mapWithConcurrency(
    keys,
    16,
    async (key) => (await store.getJson<Checkpoint>(key))?.value,
  );
  return values.filter((c): c is Checkpoint => Boolean(c));
}

/**
 * The shards of a stream whose tail is not archived: every shard Kinesis still lists that is not
 * drained, from its last archived record (or the pending block's last, when that object exists).
 */
async function liveShards(
  deps: PrepareDeps,
  stream: string,
  warnings: string[],
): Promise<{ shards: LiveShard[]; archived: boolean }> {
  const checkpoints = await checkpointsOf(deps.store, deps.prefix, stream);
  let listed;
  try {
    listed = await deps.catalog.listShards(stream);
  } catch (error) {
    if (!(error instanceof StreamNotFoundError)) throw error;
    if (checkpoints.length === 0)
      throw new ValidationError(`field streams: stream ${stream} is neither in Kinesis nor archived`);
    warnings.push(`stream ${stream} is no longer in Kinesis: its archive only`);
    return { shards: [], archived: true };
  }
  const { policy } = await streamReadPolicy(deps.catalog, stream, deps.read);
  const byId = new Map(checkpoints.map((c) => [c.shardId, c]));
  const shards: LiveShard[] = [];
  for (const shard of listed) {
    const checkpoint = byId.get(shard.shardId);
    if (checkpoint?.drained) continue;
    shards.push({
      stream,
      shardId: shard.shardId,
      after: await liveStart(deps.store, checkpoint),
      readRate: policy.rate,
    });
  }
  return { shards, archived: checkpoints.length > 0 };
}

/**
 * PrepareQueryWindow: resolves the request, checks its subnet, VPC and security groups carry the
 * tag EMR's managed service policy needs, finds the streams and the shards to snapshot,
 * writes the window's scripts (HiveQL, Drill's plugins and views, the bootstrap action, the
 * Drill step) under its run files, and returns the EMR parameters that reference them.
 */
export async function prepareQueryWindow(
  deps: PrepareDeps,
  input: unknown,
  windowId: string,
  startedAt: string,
): Promise<PreparedQueryWindow> {
  const openedAt = Date.parse(startedAt);
  if (Number.isNaN(openedAt)) throw new ValidationError(`startedAt ${startedAt} is not a time`);
  const window: ResolvedQueryWindow = resolveQueryWindow(input, {
    windowId,
    openedAt,
    defaultMinutes: deps.defaultMinutes,
    drillVersion: deps.drillVersion,
  });
  await checkClusterNetwork(deps.network, window.instances);
  const { store, bucket } = deps;
  const prefix = normalizePrefix(deps.prefix);
  const files = queryWindowFiles(prefix, windowId);
  const uri = (key: string) => s3Uri(bucket, key);

  const streams = window.streams ?? (await archivedStreams(store, prefix));
  if (streams.length === 0)
    throw new ValidationError('field streams: no stream has an archive in this bucket yet; name the streams');

  const warnings: string[] = [];
  const shards: LiveShard[] = [];
  if (window.liveSnapshot) {
    const found = await mapWithConcurrency(streams, 4, (stream) => liveShards(deps, stream, warnings));
    shards.push(...found.flatMap((f) => f.shards));
    if (shards.length > deps.maxSnapshotShards)
      throw new ValidationError(
        `field live: the streams have ${shards.length} shards with a live tail, more than ${deps.maxSnapshotShards} ` +
          'a window snapshots; name fewer streams or set live to none',
      );
  }

  const drill: DrillSpec = {
    bucket,
    region: deps.region,
    dataPath: bucketPath(prefix),
    liveDirectory: files.live.slice(prefix.length).replace(/\/$/, ''),
    viewsPath: bucketPath('', files.drillViews),
    streams,
  };
  const hive = {
    windowId,
    archiveLocation: uri(archiveRoot(prefix)),
    liveLocation: window.liveSnapshot ? uri(files.live) : null,
    columnarLocation: uri(columnarRoot(prefix)),
    streams,
  };
  await store.putJson(files.request, { ...window, streams });
  const text = (key: string, body: string, contentType: string) =>
    store.putObject(key, Buffer.from(body, 'utf8'), contentType);
  await text(files.hiveTables, createTablesScript(hive), 'text/plain; charset=utf-8');
  if (window.kinesisTables)
    await text(files.kinesisTables, kinesisTablesScript(hive), 'text/plain; charset=utf-8');
  await text(files.drillPlugins, storagePluginsOverrideText(drill), 'text/plain; charset=utf-8');
  for (const [sources, sql] of drillRecordsViews(drill, window.liveSnapshot))
    await text(files.drillView(sources), sql, 'text/plain; charset=utf-8');
  await text(files.installDrill, deps.installDrillScript(), 'text/x-shellscript');
  await text(files.configureDrill, deps.configureDrillScript(), 'text/x-shellscript');

  const cluster = clusterParameters(window, {
    stage: deps.stage,
    serviceRole: deps.emrServiceRole,
    instanceProfile: deps.emrInstanceProfile,
    logUri: uri(files.logs),
    installDrillUri: uri(files.installDrill),
    pluginsUri: uri(files.drillPlugins),
  });
  const prepared: PreparedQueryWindow = {
    windowId,
    openedAt,
    timeoutSeconds: window.durationMinutes * 60,
    streams,
    cluster,
    steps: {
      hiveTables: hiveScriptStep(uri(files.hiveTables)),
      kinesisTables: window.kinesisTables ? hiveScriptStep(uri(files.kinesisTables)) : [],
      configureDrill: bashScriptStep(uri(files.configureDrill), 'configure-drill.sh', [
        '--bucket',
        bucket,
        '--columnar-prefix',
        columnarRoot(prefix),
        '--archive-prefix',
        archiveRoot(prefix),
        '--live-prefix',
        window.liveSnapshot ? files.live : '',
        '--sql',
        uri(files.drillSql),
      ]),
    },
    kinesisTables: window.kinesisTables,
    live: { snapshot: window.liveSnapshot && shards.length > 0, shards },
    ports: {
      drillWeb: DRILL_PORTS.drillWeb,
      drillJdbc: DRILL_PORTS.drillJdbc,
      hiveServer2: DRILL_PORTS.hiveServer2,
    },
    files: uri(files.root),
    warnings,
  };
  await writeStatus(store, files.status, {
    windowId,
    phase: 'opening',
    clusterName: cluster.name,
    streams,
    openedAt: new Date(openedAt).toISOString(),
    durationMinutes: window.durationMinutes,
    warnings,
  });
  return prepared;
}
