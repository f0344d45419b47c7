import { GetObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import { readWholeArchive } from '../../src/archive/archive-reader';
import { archiveRuntime, resetArchiveRuntime } from '../../src/archive/runtime';
import { resetClients } from '../../src/aws/clients';
import { applyRetention } from '../../src/archive/retention';
import { S3BucketLifecycle, S3ObjectStore } from '../../src/aws/s3-adapter';
import type { ArchiveSummary } from '../../src/core/archive-summary';
import type { Checkpoint } from '../../src/core/checkpoint';
import { CheckpointConflictError } from '../../src/core/errors';
import { checkpointStreamPrefix } from '../../src/core/layout';
import { CONVERTED_JSONL_TAGS, lifecycleRulesFor } from '../../src/core/retention';
import { applyEnvironment } from '../../src/local/emulators';
import { runLocalStateMachine } from '../../src/local/state-machine-runner';
import { putAll, telemetryRecord } from '../../src/local/traffic';
import { checkArchive } from '../../src/local/verify-archive';
import { createArchivedStream, useEmulators } from '../support/emulators';
import { describeWithTool } from '../support/external-tools';
import { startMotoS3, type MotoS3 } from '../support/moto';

const BUCKET = 'reservoir-moto';

const describeWithMoto = describeWithTool(
  'moto_server',
  ['-h'],
  'conditional writes and overlapping archive runs against an S3 that enforces If-Match',
);

describeWithMoto('against an S3 that enforces conditional writes (moto_server)', () => {
  // kinesalite for Kinesis; the s3rver the helper also starts is replaced by moto below.
  const env = useEmulators({ RESERVOIR_GETRECORDS_LIMIT: '25' });
  let moto: MotoS3;
  beforeAll(async () => {
    moto = await startMotoS3();
    await moto.createBucket(BUCKET);
    applyEnvironment({ ...moto.env, RESERVOIR_BUCKET: BUCKET });
    resetClients();
    resetArchiveRuntime();
  });
  afterAll(async () => {
    resetClients();
    await moto?.stop();
  });

  describe('the S3 adapter', () => {
    let store: S3ObjectStore;
    let client: S3Client;
    beforeAll(() => {
      client = moto.client;
      store = new S3ObjectStore(client, BUCKET);
    });

    it('given no object, then a write that requires none succeeds, and a second one gets 412 as CheckpointConflictError', async () => {
      const etag = await store.putJsonIfMatch('checkpoints/a.json', { n: 1 }, null);
      expect(etag).toMatch(/^"/);
      await expect(store.putJsonIfMatch('checkpoints/a.json', { n: 2 }, null)).rejects.toBeInstanceOf(
        CheckpointConflictError,
      );
      expect((await store.getJson<{ n: number }>('checkpoints/a.json'))!.value).toEqual({ n: 1 });
    });

    it('given a known ETag, then the write succeeds once; a write with the stale ETag gets 412', async () => {
      const first = await store.putJsonIfMatch('checkpoints/b.json', { n: 1 }, null);
      const second = await store.putJsonIfMatch('checkpoints/b.json', { n: 2 }, first);
      expect(second).not.toBe(first);
      await expect(store.putJsonIfMatch('checkpoints/b.json', { n: 3 }, first)).rejects.toBeInstanceOf(
        CheckpointConflictError,
      );
      expect((await store.getJson<{ n: number }>('checkpoints/b.json'))!).toEqual({
        value: { n: 2 },
        etag: second,
      });
    });

    it('given tags on a conditional write, then the object carries them', async () => {
      await store.putJsonIfMatch('checkpoints/c.json', {}, null, { 'reservoir-drained': 'true' });
      const tagging = await client.send(
        new GetObjectTaggingCommand({ Bucket: BUCKET, Key: 'checkpoints/c.json' }),
      );
      expect(tagging.TagSet).toEqual([{ Key: 'reservoir-drained', Value: 'true' }]);
    });

    it('given no lifecycle configuration, then none is read; a written one reads back', async () => {
      const lifecycle = new S3BucketLifecycle(client, BUCKET);
      expect(await lifecycle.getLifecycle()).toBeNull();
      const rule = {
        ID: 'reservoir-archive-orders',
        Status: 'Enabled',
        Filter: { Prefix: 'archive/stream=orders/' },
        Expiration: { Days: 30 },
      };
      await lifecycle.putLifecycle({ rules: [rule] });
      expect((await lifecycle.getLifecycle())!.rules).toEqual([rule]);
      await lifecycle.putLifecycle({ rules: [] });
      expect(await lifecycle.getLifecycle()).toBeNull();
    });

    it('given tags for existing objects and a key that is gone, then the objects carry exactly those tags, unchanged otherwise, and the gone key is skipped', async () => {
      await store.putObject('archive/stream=orders/a.jsonl.gz', Buffer.from('a'), 'application/x-ndjson');
      await store.tagObjects(
        ['archive/stream=orders/a.jsonl.gz', 'archive/stream=orders/gone.jsonl.gz'],
        CONVERTED_JSONL_TAGS,
      );
      const tagging = await client.send(
        new GetObjectTaggingCommand({ Bucket: BUCKET, Key: 'archive/stream=orders/a.jsonl.gz' }),
      );
      expect(tagging.TagSet).toEqual([{ Key: 'reservoir-converted', Value: 'true' }]);
      expect(Buffer.from((await store.getObject('archive/stream=orders/a.jsonl.gz'))!).toString()).toBe('a');
    });

    it('given a policy with jsonl-days, when retention is applied, then S3 holds the archive, columnar, converted-JSONL and checkpoint rules as reservoir built them', async () => {
      const lifecycle = new S3BucketLifecycle(client, BUCKET);
      const policy = { stream: 'orders', expireDays: 30, jsonlDays: 7, streamRetentionHours: 24 };
      await applyRetention(lifecycle, 'kinesis/', { streams: ['orders'], policies: [policy], problems: [] });

      const rules = (await lifecycle.getLifecycle())!.rules;
      expect([...rules].sort((a, b) => a.ID!.localeCompare(b.ID!))).toEqual(
        lifecycleRulesFor(policy, 'kinesis/').sort((a, b) => a.ID!.localeCompare(b.ID!)),
      );
      expect(rules.find((r) => r.ID === 'reservoir-columnar-orders')!.Filter).toEqual({
        Prefix: 'kinesis/columnar/stream=orders/',
      });
      expect(rules.find((r) => r.ID === 'reservoir-jsonl-orders')).toEqual({
        ID: 'reservoir-jsonl-orders',
        Status: 'Enabled',
        Filter: {
          And: {
            Prefix: 'kinesis/archive/stream=orders/',
            Tags: [{ Key: 'reservoir-converted', Value: 'true' }],
          },
        },
        Expiration: { Days: 7 },
      });
      // A second run finds nothing to change.
      expect(
        (
          await applyRetention(lifecycle, 'kinesis/', {
            streams: ['orders'],
            policies: [policy],
            problems: [],
          })
        ).changed,
      ).toBe(false);
      await lifecycle.putLifecycle({ rules: [] });
    });
  });

  describe('three overlapping archive executions', () => {
    it('given a backlog on four shards, when three runs start at once, then none fails, shards busy in another run are reported held by it, and every record is archived exactly once, byte-exact', async () => {
      await createArchivedStream(env.kinesis, 'overlap', 4);
      const produced = Array.from({ length: 2_000 }, (_, i) => telemetryRecord(i));
      await putAll(env.kinesis, 'overlap', produced);

      const names = ['archive-overlap-1', 'archive-overlap-2', 'archive-overlap-3'];
      const outcomes = await Promise.allSettled(
        names.map(
          (executionName) =>
            runLocalStateMachine(
              'archive',
              { streams: ['overlap'] },
              { executionName },
            ) as Promise<ArchiveSummary>,
        ),
      );
      const summaries = outcomes.map((outcome) => {
        if (outcome.status === 'rejected') throw outcome.reason;
        return outcome.value;
      });
      for (const summary of summaries) {
        expect(summary).toMatchObject({ errorName: null, problemCount: 0, failedShards: 0 });
      }
      const held = summaries.flatMap((summary) => summary.shards.filter((row) => row.status === 'held'));
      expect(held.length).toBeGreaterThan(0);
      for (const row of held) expect(names).toContain(row.heldBy);

      const { store, config } = archiveRuntime();
      const { lines } = await readWholeArchive(store, config.prefix, 'overlap');
      expect(checkArchive(produced, lines)).toEqual({
        produced: 2_000,
        archived: 2_000,
        missing: 0,
        duplicates: 0,
        unexpected: 0,
        misplaced: 0,
      });
      // Each run released what it held: the next scheduled run is not locked out.
      for (const key of await store.listKeys(checkpointStreamPrefix(config.prefix, 'overlap'))) {
        expect((await store.getJson<Checkpoint>(key))!.value.lease).toBeNull();
      }
    });
  });
});
