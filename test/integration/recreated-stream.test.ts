import { DeleteStreamCommand } from '@aws-sdk/client-kinesis';
import { readWholeArchive } from '../../src/archive/archive-reader';
import { archiveRuntime } from '../../src/archive/runtime';
import { KinesisShardReader } from '../../src/aws/kinesis-adapter';
import { kinesisClient } from '../../src/aws/clients';
import type { ArchiveSummary } from '../../src/core/archive-summary';
import type { Checkpoint } from '../../src/core/checkpoint';
import { checkpointStreamPrefix } from '../../src/core/layout';
import { runLocalStateMachine } from '../../src/local/state-machine-runner';
import { putAll, telemetryRecord } from '../../src/local/traffic';
import { checkArchive } from '../../src/local/verify-archive';
import { collectStatus } from '../../src/status/collect-status';
import { healthProblems } from '../../src/status/health';
import { verifyArchivedStream } from '../../src/verify/verify-stream';
import { createArchivedStream, useEmulators } from '../support/emulators';

const env = useEmulators();
let runs = 0;
const archive = () =>
  runLocalStateMachine(
    'archive',
    { streams: ['phoenix'] },
    { executionName: `recreated-${++runs}` },
  ) as Promise<ArchiveSummary>;

async function status() {
  const { store, catalog, config } = archiveRuntime();
  return collectStatus({
    store,
    catalog,
    prefix: config.prefix,
    reader: new KinesisShardReader(kinesisClient()),
    now: Date.now,
  });
}

describe('a stream deleted and created again under the same name', () => {
  it('given an archived stream that is recreated, then status says so, and the next run archives the new stream as a new epoch, the old archive untouched', async () => {
    const first = Array.from({ length: 20 }, (_, i) => telemetryRecord(i));
    await createArchivedStream(env.kinesis, 'phoenix', 1);
    await putAll(env.kinesis, 'phoenix', first);
    expect((await archive()).totals.records).toBe(20);
    const { store, config } = archiveRuntime();
    const oldObjects = (await readWholeArchive(store, config.prefix, 'phoenix')).objects.map((o) => o.key);

    await env.kinesis.send(new DeleteStreamCommand({ StreamName: 'phoenix' }));
    // StreamCreationTimestamp has whole seconds: the new stream must be created in a later one.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const second = Array.from({ length: 15 }, (_, i) => telemetryRecord(100 + i));
    await createArchivedStream(env.kinesis, 'phoenix', 1);
    await putAll(env.kinesis, 'phoenix', second);

    const before = (await status()).find((s) => s.stream === 'phoenix')!;
    expect(before.recreated).toEqual({ createdAt: expect.any(String) });
    expect(before.unarchived.count).toBe(15);
    expect(
      healthProblems({ streams: [before], lastRun: null, now: Date.now(), maxRunAgeMs: 3_600_000 }),
    ).toEqual(expect.arrayContaining([expect.stringContaining('phoenix: the stream was recreated at')]));

    const summary = await archive();
    expect(summary).toMatchObject({ errorName: null, problemCount: 0, totals: { records: 15 } });
    expect(summary.recreated).toEqual([
      expect.objectContaining({ stream: 'phoenix', retiredCheckpoints: 1 }),
    ]);
    expect(summary.warnings[0]).toContain('phoenix: the stream was deleted and created again');

    const { objects, lines } = await readWholeArchive(store, config.prefix, 'phoenix');
    expect(objects.map((o) => o.key)).toEqual(expect.arrayContaining(oldObjects));
    expect(checkArchive([...first, ...second], lines)).toMatchObject({
      archived: 35,
      missing: 0,
      duplicates: 0,
    });

    const retired = await store.listKeys(`${config.prefix}checkpoints-retired/stream=phoenix/`);
    expect(retired).toHaveLength(1);
    const current = await store.listKeys(checkpointStreamPrefix(config.prefix, 'phoenix'));
    expect(current).toHaveLength(1);
    expect((await store.getJson<Checkpoint>(current[0]!))!.value.streamCreatedAt).toEqual(expect.any(Number));

    // reservoir verify: the new stream's shard starts its chain anew where the retired checkpoint ended.
    const verified = await verifyArchivedStream(
      { store, prefix: config.prefix, lifecycle: null },
      'phoenix',
      { deep: true },
    );
    expect(verified).toMatchObject({ status: 'full', joins: { proven: 1, unproven: 0 } });

    expect((await status()).find((s) => s.stream === 'phoenix')!.recreated).toBeNull();
    expect((await archive()).recreated).toEqual([]);
  });
});
