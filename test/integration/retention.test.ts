import { AddTagsToStreamCommand, ListShardsCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import {
  GetBucketLifecycleConfigurationCommand,
  GetObjectTaggingCommand,
  PutBucketLifecycleConfigurationCommand,
  type LifecycleRule,
} from '@aws-sdk/client-s3';
import { archiveRuntime } from '../../src/archive/runtime';
import { s3Client } from '../../src/aws/clients';
import { S3BucketLifecycle } from '../../src/aws/s3-adapter';
import type { ArchiveSummary } from '../../src/core/archive-summary';
import { checkpointKey } from '../../src/core/layout';
import { runLocalStateMachine } from '../../src/local/state-machine-runner';
import { putAll, telemetryRecord } from '../../src/local/traffic';
import { createArchivedStream, useEmulators, waitForActive } from '../support/emulators';

const env = useEmulators();
let runs = 0;
const archive = () =>
  runLocalStateMachine('archive', {}, { executionName: `it-retention-${++runs}` }) as Promise<ArchiveSummary>;

const STREAM = 'orders';
/** A rule some other tool put on the bucket: reservoir must leave it exactly as it is. */
const FOREIGN: LifecycleRule = {
  ID: 'someone-elses-scratch',
  Status: 'Enabled',
  Filter: { Prefix: 'scratch/' },
  Expiration: { Days: 3 },
};

async function bucketRules(): Promise<LifecycleRule[]> {
  const { config } = archiveRuntime();
  const output = await s3Client().send(new GetBucketLifecycleConfigurationCommand({ Bucket: config.bucket }));
  return output.Rules ?? [];
}

async function objectTags(key: string) {
  const { config } = archiveRuntime();
  const output = await s3Client().send(new GetObjectTaggingCommand({ Bucket: config.bucket, Key: key }));
  return output.TagSet ?? [];
}

const retentionTags = (days: string) => ({
  'reservoir:retention-days': days,
  'reservoir:transition-days': '7',
  'reservoir:transition-class': 'GLACIER_IR',
});

describe('retention on the emulators', () => {
  let first: ArchiveSummary;

  beforeAll(async () => {
    const { kinesis } = env;
    const { config } = archiveRuntime();
    await s3Client().send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: config.bucket,
        LifecycleConfiguration: { Rules: [FOREIGN] },
      }),
    );
    await createArchivedStream(kinesis, STREAM, 1);
    await kinesis.send(new AddTagsToStreamCommand({ StreamName: STREAM, Tags: retentionTags('30') }));
    await createArchivedStream(kinesis, 'malformed', 1);
    await kinesis.send(
      new AddTagsToStreamCommand({
        StreamName: 'malformed',
        Tags: { 'reservoir:retention-days': '30 days' },
      }),
    );

    await putAll(
      kinesis,
      STREAM,
      Array.from({ length: 40 }, (_, i) => telemetryRecord(i)),
    );
    await putAll(
      kinesis,
      'malformed',
      Array.from({ length: 10 }, (_, i) => telemetryRecord(i)),
    );
    const [parent] = (await kinesis.send(new ListShardsCommand({ StreamName: STREAM }))).Shards!;
    const range = parent!.HashKeyRange!;
    await kinesis.send(
      new SplitShardCommand({
        StreamName: STREAM,
        ShardToSplit: parent!.ShardId!,
        NewStartingHashKey: ((BigInt(range.StartingHashKey!) + BigInt(range.EndingHashKey!)) / 2n).toString(),
      }),
    );
    await waitForActive(kinesis, STREAM);
    await putAll(
      kinesis,
      STREAM,
      Array.from({ length: 40 }, (_, i) => telemetryRecord(100 + i)),
    );

    first = await archive();
  });

  it('given a stream tagged with retention and transition, when the archive runs, then the bucket has its archive, columnar and checkpoint rules and the foreign rule is untouched', async () => {
    expect(first.errorName).toBeNull();
    expect(first.retention).toMatchObject({ applied: true, changed: true, streamsWithRules: [STREAM] });

    const rules = await bucketRules();
    expect(rules).toHaveLength(4);
    expect(rules).toContainEqual(FOREIGN);
    // The Parquet tree gets the archive tree's expiration and transition.
    expect(rules).toContainEqual({
      ID: `reservoir-columnar-${STREAM}`,
      Status: 'Enabled',
      Filter: { Prefix: `columnar/stream=${STREAM}/` },
      Expiration: { Days: 30 },
      Transitions: [{ Days: 7, StorageClass: 'GLACIER_IR' }],
    });
    expect(rules).toContainEqual({
      ID: `reservoir-archive-${STREAM}`,
      Status: 'Enabled',
      Filter: { Prefix: `archive/stream=${STREAM}/` },
      Expiration: { Days: 30 },
      Transitions: [{ Days: 7, StorageClass: 'GLACIER_IR' }],
    });
    // kinesalite's streams keep records 24 hours: the 30 days of the archive are the longer bound.
    expect(rules).toContainEqual({
      ID: `reservoir-checkpoints-${STREAM}`,
      Status: 'Enabled',
      Filter: {
        And: {
          Prefix: `checkpoints/stream=${STREAM}/`,
          Tags: [{ Key: 'reservoir-drained', Value: 'true' }],
        },
      },
      Expiration: { Days: 30 },
    });
  });

  it('given a malformed retention tag on another stream, then that stream is archived anyway and the summary warns about the tag', () => {
    expect(first.streams.map((s) => [s.stream, s.records])).toEqual([
      ['malformed', 10],
      [STREAM, 80],
    ]);
    expect(first.warnings).toEqual([
      'retention: stream malformed: tag reservoir:retention-days must be a whole number of days >= 1, got "30 days"; ' +
        'its lifecycle rules are left as they were',
    ]);
    expect(first.problemCount).toBe(0);
  });

  it('given a split, then the drained parent’s checkpoint carries reservoir-drained=true and the open children’s do not', async () => {
    const { config } = archiveRuntime();
    const statuses = Object.fromEntries(first.shards.map((s) => [s.shardId, s.status]));
    expect(statuses).toEqual({
      'shardId-000000000000': 'drained',
      'shardId-000000000001': 'caught-up',
      'shardId-000000000002': 'caught-up',
    });

    expect(await objectTags(checkpointKey(config.prefix, STREAM, 'shardId-000000000000'))).toEqual([
      { Key: 'reservoir-drained', Value: 'true' },
    ]);
    expect(await objectTags(checkpointKey(config.prefix, STREAM, 'shardId-000000000001'))).toEqual([]);
    expect(await objectTags(checkpointKey(config.prefix, STREAM, 'shardId-000000000002'))).toEqual([]);
  });

  it('given nothing changed, when the archive runs again, then the lifecycle configuration is not written', async () => {
    const before = await bucketRules();
    const put = jest.spyOn(S3BucketLifecycle.prototype, 'putLifecycle');
    let second: ArchiveSummary;
    try {
      second = await archive();
    } finally {
      put.mockRestore();
    }

    expect(put).not.toHaveBeenCalled();
    expect(second.retention).toMatchObject({ applied: true, changed: false });
    expect(await bucketRules()).toEqual(before);
  });

  it('given the retention tag changes, when the archive runs, then only that stream’s rules change', async () => {
    await env.kinesis.send(new AddTagsToStreamCommand({ StreamName: STREAM, Tags: retentionTags('90') }));
    const third = await archive();
    const rules = await bucketRules();

    expect(third.retention).toMatchObject({ changed: true });
    expect(rules).toContainEqual(FOREIGN);
    expect(rules.find((r) => r.ID === `reservoir-archive-${STREAM}`)!.Expiration).toEqual({ Days: 90 });
    expect(rules.find((r) => r.ID === `reservoir-checkpoints-${STREAM}`)!.Expiration).toEqual({ Days: 90 });
  });
});
