import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  PutRecordCommand,
  UpdateMaxRecordSizeCommand,
} from '@aws-sdk/client-kinesis';
import { archiveRuntime } from '../../src/archive/runtime';
import { columnarCommand } from '../../src/cli/commands/columnar';
import { sqlCommand } from '../../src/cli/commands/sql';
import { decodeRecord } from '../../src/consumer';
import type { ArchiveSummary } from '../../src/core/archive-summary';
import { archiveStreamPrefix } from '../../src/core/layout';
import { encodePayload } from '../../src/core/record-line';
import type { ReplaySummary } from '../../src/core/replay-summary';
import { ExecutionFailedError, runLocalStateMachine } from '../../src/local/state-machine-runner';
import { putAll, telemetryRecord, type ProducedRecord } from '../../src/local/traffic';
import { quietly } from '../support/quietly';
import { createArchivedStream, useEmulators, waitForActive } from '../support/emulators';
import { readStream } from '../support/streams';

/**
 * Issue 14: records up to 10 MiB, end to end, with 8 MiB payloads. kinesalite refuses records
 * above 1 MiB; the embedded emulator raises that per stream with UpdateMaxRecordSize
 * (src/local/kinesalite-record-size.ts), and cuts GetRecords answers at 10 MiB, as AWS does.
 */
const env = useEmulators({ RESERVOIR_REPLAY_TARGETS: 'big-*', RESERVOIR_PUT_BASE_DELAY_MS: '20' });
const MIB = 1024 * 1024;
const POLLED = 'big-source';
const EFO = 'big-efo';
const ROOT = mkdtempSync(join(tmpdir(), 'reservoir-big-records-'));
afterAll(() => rmSync(ROOT, { recursive: true, force: true }));

/** 8 MiB of UTF-8 text with line breaks, quotes and accents: archived as text, on one line. */
function text8MiB(): Buffer {
  const unit = Buffer.from('caf\u00e9 "quoted" words of a large document, line after line\n', 'utf8');
  const whole = Math.floor((8 * MIB) / unit.length);
  return Buffer.concat([
    Buffer.alloc(whole * unit.length, unit),
    Buffer.alloc(8 * MIB - whole * unit.length, 'x'),
  ]);
}
const TEXT: ProducedRecord = { partitionKey: 'text-big', data: text8MiB() };
/** 8 MiB that are not UTF-8: archived as base64 (10.7 MiB), too large for any envelope. */
const BINARY: ProducedRecord = { partitionKey: 'bin-big', data: randomBytes(8 * MIB) };
BINARY.data[0] = 0xff;
const SMALL = Array.from({ length: 12 }, (_, i) => telemetryRecord(i));
const RECORDS = [...SMALL.slice(0, 6), TEXT, ...SMALL.slice(6, 9), BINARY, ...SMALL.slice(9)];
const md5 = (data: string | Buffer) => createHash('md5').update(data).digest('hex');

let caches = 0;
async function rows(query: string, live = false): Promise<Record<string, unknown>[]> {
  let text = '';
  await quietly(() =>
    sqlCommand(
      query,
      {
        cacheDir: join(ROOT, `cache-${caches++}`),
        format: 'json',
        stream: [POLLED, EFO],
        maxRows: '1000',
        live,
      },
      async (t) => {
        text += t;
      },
    ),
  );
  return JSON.parse(text) as Record<string, unknown>[];
}

/** Each record as the records view should show it: the archived text's digest and length. */
function expectedRows(stream: string) {
  return RECORDS.map((record) => {
    const payload = encodePayload(record.data);
    return {
      stream,
      partition_key: record.partitionKey,
      encoding: payload.encoding,
      md5: md5(payload.data),
      bytes: Buffer.byteLength(payload.data),
    };
  });
}
const DIGESTS =
  'SELECT stream, partition_key, encoding, md5(data) AS md5, strlen(data) AS bytes FROM records ' +
  'ORDER BY stream, length(sequence_number), sequence_number';

async function raiseMaxRecordSize(stream: string): Promise<void> {
  const arn = (await env.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream })))
    .StreamDescriptionSummary!.StreamARN!;
  await env.kinesis.send(new UpdateMaxRecordSizeCommand({ StreamARN: arn, MaxRecordSizeInKiB: 10_240 }));
}

async function target(stream: string, raised: boolean): Promise<void> {
  await env.kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));
  await waitForActive(env.kinesis, stream);
  if (raised) await raiseMaxRecordSize(stream);
}

const replay = (request: object, executionName: string) =>
  runLocalStateMachine('replay', request, {
    executionName,
    retryIntervalOverrides: { ReplayItem: 0 },
  }) as Promise<ReplaySummary>;

/** Payload digests per key, in the order the target holds them. */
async function payloadsIn(stream: string, envelopes = false): Promise<Map<string, string[]>> {
  const perKey = new Map<string, string[]>();
  for (const record of await readStream(env.kinesis, stream)) {
    const payload = envelopes
      ? decodeRecord(
          { SequenceNumber: record.sequenceNumber, PartitionKey: record.partitionKey, Data: record.data },
          record.shardId,
        ).payload
      : record.data;
    perKey.set(record.partitionKey, [...(perKey.get(record.partitionKey) ?? []), md5(payload)]);
  }
  return perKey;
}
const expectedPayloads = (records: ProducedRecord[]) =>
  new Map(records.map((record) => [record.partitionKey, [md5(record.data)]]));

describe('8 MiB records on the emulators', () => {
  it('given a stream at the default 1 MiB, then an 8 MiB record is refused; raised to 10 MiB, DescribeStreamSummary says so, it is taken, and a GetRecords answer stops at 10 MiB', async () => {
    await createArchivedStream(env.kinesis, POLLED, 1);
    await createArchivedStream(env.kinesis, EFO, 1, true, { 'reservoir:read-mode': 'efo' });
    const refused = await env.kinesis
      .send(new PutRecordCommand({ StreamName: POLLED, PartitionKey: 'k', Data: TEXT.data }))
      .catch((error: unknown) => error);
    expect(refused).toMatchObject({ name: 'ValidationException' });
    const before = await env.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: POLLED }));
    expect(before.StreamDescriptionSummary!.MaxRecordSizeInKiB).toBeUndefined();

    for (const stream of [POLLED, EFO]) {
      await raiseMaxRecordSize(stream);
      await putAll(env.kinesis, stream, RECORDS);
    }
    const after = await env.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: POLLED }));
    expect(after.StreamDescriptionSummary!.MaxRecordSizeInKiB).toBe(10_240);
    // As on AWS, one GetRecords answer carries at most 10 MiB: it stops before the second 8 MiB record.
    const { ShardIterator } = await env.kinesis.send(
      new GetShardIteratorCommand({
        StreamName: POLLED,
        ShardId: 'shardId-000000000000',
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    const first = await env.kinesis.send(new GetRecordsCommand({ ShardIterator }));
    expect(first.Records!.map((record) => record.PartitionKey)).toEqual(
      RECORDS.slice(0, RECORDS.indexOf(BINARY)).map((record) => record.partitionKey),
    );
    const next = await env.kinesis.send(new GetRecordsCommand({ ShardIterator: first.NextShardIterator }));
    expect(next.Records![0]!.PartitionKey).toBe(BINARY.partitionKey);
  });

  it('given both streams archived (polling and enhanced fan-out), then reservoir sql returns every record byte-exact', async () => {
    const summary = (await runLocalStateMachine(
      'archive',
      { streams: [POLLED, EFO] },
      { executionName: 'big-archive' },
    )) as ArchiveSummary;
    expect(summary).toMatchObject({ problemCount: 0, totals: { records: 2 * RECORDS.length } });
    expect(Object.fromEntries(summary.streams.map((row) => [row.stream, row.read?.mode]))).toEqual({
      [POLLED]: 'polling',
      [EFO]: 'efo',
    });
    expect(await rows(DIGESTS)).toEqual([...expectedRows(EFO), ...expectedRows(POLLED)]);
  }, 180_000);

  it('given a target raised to 10 MiB, then a raw replay puts the 8 MiB records byte-exact, and so does a compacted one', async () => {
    await target('big-raw', true);
    expect(await replay({ stream: POLLED, target: 'big-raw', format: 'raw' }, 'big-raw')).toMatchObject({
      put: RECORDS.length,
    });
    expect(await payloadsIn('big-raw')).toEqual(expectedPayloads(RECORDS));

    await target('big-compacted', true);
    expect(
      await replay(
        { stream: POLLED, target: 'big-compacted', format: 'raw', compact: true },
        'big-compacted',
      ),
    ).toMatchObject({ put: RECORDS.length });
    expect(await payloadsIn('big-compacted')).toEqual(expectedPayloads(RECORDS));
  }, 180_000);

  it('given a target at 1 MiB, then the replay fails at the first 8 MiB envelope naming it, after the records before it were put', async () => {
    await target('big-small-target', false);
    const [text] = await rows(
      `SELECT sequence_number FROM records WHERE stream = '${POLLED}' AND partition_key = 'text-big'`,
    );
    const failure = await replay({ stream: POLLED, target: 'big-small-target' }, 'big-small-target').catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(ExecutionFailedError);
    expect((failure as ExecutionFailedError).error).toBe('RecordTooLargeError');
    expect((failure as ExecutionFailedError).causeText).toContain(
      `Record of stream ${POLLED}, shard shardId-000000000000, sequence number ${text!.sequence_number as string}`,
    );
    expect((failure as ExecutionFailedError).causeText).toMatch(
      /with its envelope, over the 1048576 bytes \(1024 KiB\) stream big-small-target takes/,
    );
    expect([...(await payloadsIn('big-small-target', true)).keys()]).toEqual(
      SMALL.slice(0, 6).map((record) => record.partitionKey),
    );
  }, 180_000);

  it('given the hours converted to Parquet and their JSON Lines deleted, then sql still returns every record byte-exact, and an envelope replay into a 10 MiB target gives the payloads back', async () => {
    const converted = await quietly(() =>
      columnarCommand({ local: true, stream: [POLLED, EFO], includeOpen: true }),
    );
    expect(converted.failures).toEqual([]);
    const { store, config } = archiveRuntime();
    for (const stream of [POLLED, EFO]) {
      await store.deleteKeys(await store.listKeys(archiveStreamPrefix(config.prefix, stream)));
    }
    expect(await rows(DIGESTS)).toEqual([...expectedRows(EFO), ...expectedRows(POLLED)]);

    // The binary record's envelope (base64: 10.7 MiB) fits no stream: left out by the filter.
    await target('big-envelopes', true);
    const fits = RECORDS.filter((record) => record !== BINARY);
    const filter = [{ partitionKey: [{ prefix: 'text-' }] }, { partitionKey: [{ prefix: 'spark-' }] }];
    expect(await replay({ stream: POLLED, target: 'big-envelopes', filter }, 'big-envelopes')).toMatchObject({
      put: fits.length,
    });
    expect(await payloadsIn('big-envelopes', true)).toEqual(expectedPayloads(fits));
  }, 180_000);

  it('given an 8 MiB record not archived yet, then reservoir sql --live returns it byte-exact', async () => {
    const live = { partitionKey: 'text-live', data: text8MiB() };
    await putAll(env.kinesis, POLLED, [live]);
    expect(
      await rows(`SELECT md5(data) AS md5, encoding FROM records WHERE partition_key = 'text-live'`, true),
    ).toEqual([{ md5: md5(live.data), encoding: 'utf8' }]);
  }, 120_000);
});
