import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateStreamCommand } from '@aws-sdk/client-kinesis';
import { archiveRuntime } from '../../src/archive/runtime';
import { columnarCommand } from '../../src/cli/commands/columnar';
import { sqlCommand } from '../../src/cli/commands/sql';
import { archiveStreamPrefix } from '../../src/core/layout';
import { runLocalStateMachine } from '../../src/local/state-machine-runner';
import { binaryRecord, kplAggregate, putAll, telemetryRecord } from '../../src/local/traffic';
import { quietly } from '../support/quietly';
import { createArchivedStream, useEmulators, waitForActive } from '../support/emulators';
import { readStream, type ReadRecord } from '../support/streams';

/**
 * Issue 13's promise: once an hour has Parquet, its JSON Lines may expire. After converting, the
 * JSONL objects are deleted; `reservoir sql` must answer exactly as before, and a replay from
 * the Parquet-only hours must put byte-exact payloads in the same order per key.
 */
const env = useEmulators({ RESERVOIR_REPLAY_TARGETS: 'pq-replica-*', RESERVOIR_PUT_BASE_DELAY_MS: '20' });
const STREAM = 'pq-source';
/** 300 telemetry, 20 binary and 30 KPL-aggregated user records. */
const RECORDS = 350;
const ROOT = mkdtempSync(join(tmpdir(), 'reservoir-parquet-only-'));
afterAll(() => rmSync(ROOT, { recursive: true, force: true }));
let caches = 0;

async function rows(query: string): Promise<unknown[]> {
  let text = '';
  await quietly(() =>
    sqlCommand(
      query,
      { cacheDir: join(ROOT, `cache-${caches++}`), format: 'json', stream: [STREAM], maxRows: '100000' },
      async (t) => {
        text += t;
      },
    ),
  );
  return JSON.parse(text) as unknown[];
}

async function replayInto(target: string): Promise<ReadRecord[]> {
  await env.kinesis.send(new CreateStreamCommand({ StreamName: target, ShardCount: 2 }));
  await waitForActive(env.kinesis, target);
  const summary = (await runLocalStateMachine(
    'replay',
    { stream: STREAM, target, format: 'raw', includeLive: false },
    { executionName: `pq-${target}`, retryIntervalOverrides: { ReplayItem: 0 } },
  )) as { put: number };
  // Every user record: the two work items (one per shard) read the same hour's file at once.
  expect(summary.put).toBe(RECORDS);
  return readStream(env.kinesis, target);
}

/** Payloads per key, in the order the target holds them (per key, across its shards). */
function byKey(records: ReadRecord[]): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  for (const record of records) {
    const list = keys.get(record.partitionKey) ?? [];
    list.push(record.data.toString('base64'));
    keys.set(record.partitionKey, list);
  }
  return keys;
}

describe('an archive whose converted hours lost their JSON Lines', () => {
  it('given every hour converted and its JSONL deleted, then sql answers the same, and a replay is byte-exact in the same order per key', async () => {
    await createArchivedStream(env.kinesis, STREAM, 2);
    const telemetry = Array.from({ length: 300 }, (_, i) => telemetryRecord(i));
    await putAll(env.kinesis, STREAM, [
      ...telemetry,
      ...Array.from({ length: 20 }, (_, i) => binaryRecord(i)),
      // Keys of their own: a key's records in one source shard, whose order a replay keeps.
      ...kplAggregate(
        Array.from({ length: 30 }, (_, i) => ({
          ...telemetryRecord(1000 + i),
          partitionKey: `kpl-${i % 7}`,
        })),
      ),
    ]);
    await runLocalStateMachine('archive', { streams: [STREAM] }, { executionName: 'pq-archive' });
    const converted = await quietly(() =>
      columnarCommand({ local: true, stream: [STREAM], includeOpen: true }),
    );
    expect(converted.failures).toEqual([]);
    expect(converted.hours.length).toBeGreaterThan(0);

    const queries = [
      'SELECT count(*) AS n, count(DISTINCT partition_key) AS keys FROM records',
      'SELECT shard_id, sequence_number, sub_sequence_number, partition_key, data, encoding, epoch_ms(arrival_time) AS ms ' +
        'FROM records ORDER BY shard_id, length(sequence_number), sequence_number, sub_sequence_number',
    ];
    const before = [];
    for (const query of queries) before.push(await rows(query));
    const fromJsonl = await replayInto('pq-replica-before');

    const { store, config } = archiveRuntime();
    const jsonl = await store.listKeys(archiveStreamPrefix(config.prefix, STREAM));
    expect(jsonl.length).toBeGreaterThan(0);
    await store.deleteKeys(jsonl);
    expect(await store.listKeys(archiveStreamPrefix(config.prefix, STREAM))).toEqual([]);

    // Every record, not a sample: 350 user records.
    expect(before[1]).toHaveLength(RECORDS);
    for (const [i, query] of queries.entries()) expect(await rows(query)).toEqual(before[i]);
    const fromParquet = await replayInto('pq-replica-after');
    expect(fromParquet).toHaveLength(fromJsonl.length);
    expect(byKey(fromParquet)).toEqual(byKey(fromJsonl));
  }, 180_000);
});
