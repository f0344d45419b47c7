import { mkdirSync, mkdtempSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  AddTagsToStreamCommand,
  CreateStreamCommand,
  KinesisClient,
  ListShardsCommand,
  SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { readWholeArchive } from '../../archive/archive-reader';
import { archiveRuntime, resetArchiveRuntime } from '../../archive/runtime';
import { resetClients } from '../../aws/clients';
import { resetReplayRuntime } from '../../replay/runtime';
import { applyEnvironment, startEmulators } from '../../local/emulators';
import {
  binaryRecord,
  kplAggregate,
  putAll,
  telemetryRecord,
  type ProducedRecord,
} from '../../local/traffic';
import { checkArchive } from '../../local/verify-archive';
import { statusCommand } from './status';
import { verifyCommand } from './verify';
import { archiveCommand } from './archive';
import { demoReplay } from './demo-replay';
import { formatBytes, info, table } from '../output';

const STREAM = 'telemetry';

/**
 * `npm start`: the whole story on embedded emulators. Traffic (telemetry JSON, binary payloads,
 * KPL aggregates) into a 2-shard stream, a shard split midway, two archive runs (the second
 * archives only what is new), a check that every record is archived exactly once, a replay,
 * and `reservoir status` with a few records still waiting for the next run.
 */
export async function demoCommand(options: { dir?: string }): Promise<void> {
  mkdirSync(resolve('.reservoir'), { recursive: true });
  const dir = options.dir ? resolve(options.dir) : mkdtempSync(join(resolve('.reservoir'), 'demo-'));
  info(`starting emulators (data in ${dir})`);
  const emulators = await startEmulators({ dir: join(dir, 'emulators') });
  try {
    applyEnvironment({
      ...emulators.env,
      RESERVOIR_REPLAY_TARGETS: `${STREAM}-replay`,
    });
    resetClients();
    resetArchiveRuntime();
    resetReplayRuntime();
    const kinesis = new KinesisClient({ requestHandler: new NodeHttpHandler() });

    info(`\n1. creating stream ${STREAM} (2 shards), tagged reservoir:archive=ALL`);
    await kinesis.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: 2 }));
    await kinesis.send(
      new AddTagsToStreamCommand({ StreamName: STREAM, Tags: { 'reservoir:archive': 'ALL' } }),
    );

    const produced: ProducedRecord[] = [];
    const send = async (records: ProducedRecord[], aggregates: ProducedRecord[] = []) => {
      await putAll(kinesis, STREAM, [...records, ...kplAggregate(aggregates)]);
      produced.push(...records, ...aggregates);
    };
    const telemetry = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => telemetryRecord(from + i));
    const binaries = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => binaryRecord(from + i));

    info('2. producing 1,500 telemetry records, 40 binary payloads and 300 records in KPL aggregates');
    await send([...telemetry(0, 1500), ...binaries(0, 40)], telemetry(100_000, 300));

    const shards = await kinesis.send(new ListShardsCommand({ StreamName: STREAM }));
    const first = shards.Shards![0]!;
    const range = first.HashKeyRange!;
    const middle = (BigInt(range.StartingHashKey!) + BigInt(range.EndingHashKey!)) / 2n;
    info(`3. splitting ${first.ShardId} at hash key ${middle} while traffic continues`);
    await kinesis.send(
      new SplitShardCommand({
        StreamName: STREAM,
        ShardToSplit: first.ShardId!,
        NewStartingHashKey: middle.toString(),
      }),
    );
    await send([...telemetry(1500, 1500), ...binaries(40, 40)], telemetry(200_000, 200));

    info('\n4. archive run #1 (reservoir archive --local)');
    const firstRun = await archiveCommand({ local: true });

    info('\n5. more traffic: 500 records');
    await send(telemetry(3000, 500));
    info('\n6. archive run #2: only what is new');
    const secondRun = await archiveCommand({ local: true });

    const { store, config } = archiveRuntime();
    const archive = await readWholeArchive(store, config.prefix, STREAM);
    const check = checkArchive(produced, archive.lines);
    info('\n7. what is in the archive');
    const byHourShard = new Map<string, { objects: number; records: number }>();
    for (const { object } of archive.lines) {
      const key = `archive/stream=${STREAM}/dt=${object.dt}/hr=${object.hr}/${object.shardId}/`;
      const row = byHourShard.get(key) ?? { objects: 0, records: 0 };
      row.records += 1;
      byHourShard.set(key, row);
    }
    for (const object of archive.objects) {
      const key = `archive/stream=${STREAM}/dt=${object.dt}/hr=${object.hr}/${object.shardId}/`;
      byHourShard.get(key)!.objects += 1;
    }
    info(
      table(
        ['prefix', 'objects', 'records'],
        [...byHourShard].map(([key, row]) => [key, row.objects, row.records]),
      ),
    );
    info(
      `\nbucket ${emulators.bucket} at ${emulators.s3Endpoint}; checkpoints under checkpoints/stream=${STREAM}/`,
    );
    info(
      `run #1 archived ${firstRun.totals.records} records (${formatBytes(firstRun.totals.bytes)}), run #2 archived ${secondRun.totals.records}`,
    );
    info(
      `check: produced ${check.produced}, archived ${check.archived}, missing ${check.missing}, duplicates ${check.duplicates}, ` +
        `unexpected ${check.unexpected}, misplaced ${check.misplaced}`,
    );
    if (
      check.missing ||
      check.duplicates ||
      check.unexpected ||
      check.misplaced ||
      check.archived !== check.produced
    ) {
      throw new Error('the archive does not hold every produced record exactly once');
    }
    info('every produced record is in the archive exactly once, byte for byte.');
    info('\nreservoir verify --local --deep: each object follows the one before it, shard by shard');
    await verifyCommand({ local: true, stream: [STREAM], deep: true });

    const arrivedDuringReplay = await demoReplay(kinesis, STREAM);

    info(
      `\nlast: 200 more records, then reservoir status --local: the next archive run picks up ` +
        `${arrivedDuringReplay + 200} (these and the ${arrivedDuringReplay} that arrived during the replay)`,
    );
    await send(telemetry(4000, 200));
    await statusCommand({ local: true });
  } finally {
    await emulators.stop();
  }
}
