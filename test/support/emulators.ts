import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AddTagsToStreamCommand,
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { resetArchiveRuntime } from '../../src/archive/runtime';
import { resetClients } from '../../src/aws/clients';
import { applyEnvironment, startEmulators, type LocalEmulators } from '../../src/local/emulators';

/**
 * Starts kinesalite (behind the local enhanced fan-out endpoint) and s3rver for one test file and
 * points reservoir's clients at them. Subscriptions last 3 s, push an empty event every 200 ms at
 * the tip, and may be renewed 1 s after the last, so enhanced fan-out reads renew and see the tip
 * quickly (AWS: 5 min, 5 s and 5 s).
 */
export function useEmulators(extraEnv: Record<string, string> = {}) {
  const context = {} as { emulators: LocalEmulators; kinesis: KinesisClient; dir: string };
  beforeAll(async () => {
    context.dir = mkdtempSync(join(tmpdir(), 'reservoir-test-'));
    context.emulators = await startEmulators({
      dir: context.dir,
      efo: { subscriptionMs: 3_000, emptyEventMs: 200, takeoverMs: 1_000, subscribeIntervalMs: 0 },
    });
    // Nothing else reads the emulated streams: tests poll at a whole shard's limits.
    applyEnvironment({
      ...context.emulators.env,
      RESERVOIR_READ_CALLS_PER_SECOND: '5',
      RESERVOIR_READ_MB_PER_SECOND: '2',
      ...extraEnv,
    });
    resetClients();
    resetArchiveRuntime();
    context.kinesis = new KinesisClient({ requestHandler: new NodeHttpHandler() });
  });
  afterAll(async () => {
    context.kinesis?.destroy();
    resetClients();
    await context.emulators?.stop();
    rmSync(context.dir, { recursive: true, force: true });
  });
  return context;
}

export async function waitForActive(kinesis: KinesisClient, stream: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
    if (summary.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`stream ${stream} did not become ACTIVE`);
}

export async function createArchivedStream(
  kinesis: KinesisClient,
  stream: string,
  shards: number,
  tag = true,
  /** More tags, e.g. reservoir:read-mode=efo. */
  tags: Record<string, string> = {},
): Promise<void> {
  await kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: shards }));
  await waitForActive(kinesis, stream);
  if (tag)
    await kinesis.send(
      new AddTagsToStreamCommand({ StreamName: stream, Tags: { 'reservoir:archive': 'ALL', ...tags } }),
    );
}
