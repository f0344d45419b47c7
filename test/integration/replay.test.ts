import { readWholeArchive } from '../../src/archive/archive-reader';
import { archiveRuntime, resetArchiveRuntime } from '../../src/archive/runtime';
import { resetClients } from '../../src/aws/clients';
import { KinesisRecordWriter } from '../../src/aws/kinesis-adapter';
import { decodeRecord, KeyStateTracker, type DecodedRecord } from '../../src/consumer';
import type { ReplaySummary } from '../../src/core/replay-summary';
import { decodePayload, type RecordLine } from '../../src/core/record-line';
import { startThrottledKinesis } from '../../src/local/throttled-kinesis';
import { ExecutionFailedError, runLocalStateMachine } from '../../src/local/state-machine-runner';
import { putAll, telemetryRecord, binaryRecord } from '../../src/local/traffic';
import { resetReplayRuntime } from '../../src/replay/runtime';
import { createArchivedStream, useEmulators } from '../support/emulators';
import { readStream, type ReadRecord } from '../support/streams';

const env = useEmulators({
  RESERVOIR_REPLAY_TARGETS: 'replica-*',
  RESERVOIR_REPLAY_FLUSH_RECORDS: '100',
  RESERVOIR_PUT_BASE_DELAY_MS: '20',
});

const SOURCE = 'machines';
let archived: RecordLine[] = [];

const replay = (request: object, executionName: string) =>
  runLocalStateMachine('replay', request, {
    executionName,
    retryIntervalOverrides: { ReplayItem: 0 },
  }) as Promise<ReplaySummary>;

const asGetRecords = (record: ReadRecord) => ({
  SequenceNumber: record.sequenceNumber,
  PartitionKey: record.partitionKey,
  Data: record.data,
  ApproximateArrivalTimestamp: new Date(record.arrivalTimestamp),
});

function decoded(records: ReadRecord[]): DecodedRecord[] {
  return records.map((record) => decodeRecord(asGetRecords(record), record.shardId));
}

/** Per key, the source positions in the order the target stream holds them. */
function sourceOrderPerKey(records: DecodedRecord[]): Map<string, string[]> {
  const perKey = new Map<string, string[]>();
  for (const record of records) {
    const id = `${record.position.shardId}/${record.position.sequenceNumber}/${record.position.subSequenceNumber}`;
    perKey.set(record.partitionKey, [...(perKey.get(record.partitionKey) ?? []), id]);
  }
  return perKey;
}

function expectedOrderPerKey(lines: RecordLine[]): Map<string, string[]> {
  const perKey = new Map<string, string[]>();
  for (const line of lines) {
    const id = `${line.shardId}/${line.sequenceNumber}/${line.subSequenceNumber}`;
    perKey.set(line.partitionKey, [...(perKey.get(line.partitionKey) ?? []), id]);
  }
  return perKey;
}

describe('replay on the emulators', () => {
  beforeAll(async () => {
    const { kinesis } = env;
    await createArchivedStream(kinesis, SOURCE, 2);
    for (const target of [
      'replica-filtered',
      'replica-raw',
      'replica-live',
      'replica-resume',
      'replica-throttled',
      'not-allowed',
    ]) {
      await createArchivedStream(kinesis, target, 2, false);
    }
    await putAll(kinesis, SOURCE, [
      ...Array.from({ length: 600 }, (_, i) => telemetryRecord(i)),
      ...Array.from({ length: 20 }, (_, i) => binaryRecord(i)),
    ]);
    await runLocalStateMachine('archive', { streams: [SOURCE] }, { executionName: 'replay-it-archive' });
    const { store, config } = archiveRuntime();
    archived = (await readWholeArchive(store, config.prefix, SOURCE)).lines.map(({ line }) => line);
    expect(archived).toHaveLength(620);
  });

  it('given bounds, a filter and annotations, then exactly the matching records are put as envelopes, in original order per key', async () => {
    const sorted = [...archived].sort((a, b) => a.arrivalTimestamp - b.arrivalTimestamp);
    const from = new Date(sorted[100]!.arrivalTimestamp).toISOString();
    const to = new Date(sorted[500]!.arrivalTimestamp).toISOString();
    const filter = { data: { data: { machine: [{ prefix: 'press-0' }] } } };
    const summary = await replay(
      {
        stream: SOURCE,
        target: 'replica-filtered',
        from,
        to,
        filter,
        annotations: { forceOverwrite: true, reason: 'it' },
      },
      'replay-filtered',
    );
    const expected = archived.filter((line) => {
      if (line.arrivalTimestamp < Date.parse(from) || line.arrivalTimestamp >= Date.parse(to)) return false;
      if (line.encoding !== 'utf8') return false;
      return (JSON.parse(line.data) as { data: { machine: string } }).data.machine.startsWith('press-0');
    });
    expect(expected.length).toBeGreaterThan(20);
    expect(summary).toMatchObject({
      read: 620,
      matched: expected.length,
      put: expected.length,
      problemCount: 0,
    });

    const out = decoded(await readStream(env.kinesis, 'replica-filtered'));
    expect(out).toHaveLength(expected.length);
    expect(
      out.every((r) => r.replayed && r.annotations.forceOverwrite === true && r.annotations.reason === 'it'),
    ).toBe(true);
    expect(sourceOrderPerKey(out)).toEqual(expectedOrderPerKey(expected));
    const byPosition = new Map(expected.map((line) => [`${line.shardId}/${line.sequenceNumber}`, line]));
    for (const record of out) {
      const line = byPosition.get(`${record.position.shardId}/${record.position.sequenceNumber}`)!;
      expect(record.payload.equals(decodePayload(line.data, line.encoding))).toBe(true);
    }
  });

  it('given format raw, then the original bytes are put with the original partition keys', async () => {
    const summary = await replay({ stream: SOURCE, target: 'replica-raw', format: 'raw' }, 'replay-raw');
    expect(summary.put).toBe(620);
    const out = await readStream(env.kinesis, 'replica-raw');
    const key = (partitionKey: string, data: Buffer) => `${partitionKey}:${data.toString('base64')}`;
    expect(out.map((r) => key(r.partitionKey, r.data)).sort()).toEqual(
      archived.map((line) => key(line.partitionKey, decodePayload(line.data, line.encoding))).sort(),
    );
  });

  it('given includeLive, then records still in the stream and not archived yet are replayed too', async () => {
    const live = Array.from({ length: 50 }, (_, i) => telemetryRecord(10_000 + i));
    await putAll(env.kinesis, SOURCE, live);
    const summary = await replay(
      { stream: SOURCE, target: 'replica-live', includeLive: true },
      'replay-live',
    );
    expect(summary.put).toBe(670);
    const out = decoded(await readStream(env.kinesis, 'replica-live'));
    const payloads = new Set(out.map((r) => r.payload.toString('base64')));
    for (const record of live) expect(payloads.has(record.data.toString('base64'))).toBe(true);
  });

  it('given a replay that dies mid-way, when the same replayId is run again, then it finishes and a cooperating consumer converges', async () => {
    const original = KinesisRecordWriter.prototype.putRecords;
    let calls = 0;
    const spy = jest.spyOn(KinesisRecordWriter.prototype, 'putRecords').mockImplementation(async function (
      this: KinesisRecordWriter,
      ...args
    ) {
      if (++calls === 3) throw new Error('Runtime.ExitError: the Lambda died');
      return original.apply(this, args);
    });
    const request = {
      stream: SOURCE,
      target: 'replica-resume',
      to: new Date(Math.max(...archived.map((l) => l.arrivalTimestamp)) + 1).toISOString(),
      replayId: 'resume-me',
    };
    try {
      await expect(replay(request, 'resume-me-1')).rejects.toThrow(ExecutionFailedError);
    } finally {
      spy.mockRestore();
    }
    const second = await replay(request, 'resume-me-2');
    expect(second).toMatchObject({ replayId: 'resume-me', problemCount: 0, completedItems: second.items });

    const out = decoded(await readStream(env.kinesis, 'replica-resume'));
    const delivered = new Set(
      out.map((r) => `${r.position.shardId}/${r.position.sequenceNumber}/${r.position.subSequenceNumber}`),
    );
    expect(delivered.size).toBe(620);
    const state = new Map<string, string>();
    const tracker = new KeyStateTracker();
    for (const record of out)
      tracker.offer(record, (r) => state.set(r.partitionKey, r.payload.toString('base64')));
    const lastPerKey = new Map<string, string>();
    for (const line of archived)
      lastPerKey.set(line.partitionKey, decodePayload(line.data, line.encoding).toString('base64'));
    expect(state).toEqual(lastPerKey);
  });

  it('given a target that throttles as AWS does, then nothing is lost and every key keeps its order, record by record', async () => {
    const proxy = await startThrottledKinesis({
      upstream: env.emulators.kinesisEndpoint,
      recordsPerSecond: 60,
      bytesPerSecond: 256 * 1024,
    });
    const direct = process.env.AWS_ENDPOINT_URL_KINESIS!;
    process.env.AWS_ENDPOINT_URL_KINESIS = proxy.endpoint;
    resetClients();
    resetArchiveRuntime();
    resetReplayRuntime();
    try {
      const summary = await replay(
        {
          stream: SOURCE,
          target: 'replica-throttled',
          to: new Date(Math.max(...archived.map((l) => l.arrivalTimestamp)) + 1).toISOString(),
        },
        'replay-throttled',
      );
      expect(summary.put).toBe(620);
      expect(summary.throttledRetries).toBeGreaterThan(0);
      expect(proxy.stats().throttled).toBeGreaterThan(0);
    } finally {
      process.env.AWS_ENDPOINT_URL_KINESIS = direct;
      resetClients();
      resetArchiveRuntime();
      resetReplayRuntime();
      await proxy.stop();
    }
    const out = decoded(await readStream(env.kinesis, 'replica-throttled'));
    expect(out).toHaveLength(620);
    expect(sourceOrderPerKey(out)).toEqual(expectedOrderPerKey(archived));
  });

  it.each([
    [
      { stream: SOURCE, target: 'not-allowed' },
      'ValidationError',
      'field target: not-allowed is not on the replay target allow-list',
    ],
    [
      { stream: SOURCE, target: 'replica-raw', filterStage: 'after' },
      'ValidationError',
      'field filterStage: only applies with compact',
    ],
    [
      { stream: SOURCE, target: 'replica-raw', from: '2030-01-01T00:00:00Z', to: '2029-01-01T00:00:00Z' },
      'ValidationError',
      'field to: must be after from',
    ],
    [
      { stream: SOURCE, target: 'replica-raw', from: 'yesterday' },
      'ValidationError',
      'field from: must match format "date-time"',
    ],
    [
      { stream: SOURCE, target: 'replica-raw', filter: { data: { type: [{ prefix: 3 }] } } },
      'ValidationError',
      'field filter.data.type',
    ],
    [{ stream: SOURCE, typo: 1 }, 'ValidationError', 'field typo: is not allowed'],
  ])(
    'given an invalid request %j, then it is rejected before any record moves, naming the field',
    async (request, error, message) => {
      const failure = (await replay(request, `invalid-${Math.random().toString(36).slice(2)}`).catch(
        (e: unknown) => e,
      )) as ExecutionFailedError;
      expect(failure).toBeInstanceOf(ExecutionFailedError);
      expect(failure.error).toBe(error);
      expect(failure.causeText).toContain(message);
    },
  );
});

describe('compacted replay on the emulators', () => {
  it('given compact, then exactly the newest record of every key within the bounds is replayed, as an envelope', async () => {
    await createArchivedStream(env.kinesis, 'replica-compacted', 1, false);
    const { store, config } = archiveRuntime();
    const lines = (await readWholeArchive(store, config.prefix, SOURCE)).lines.map(({ line }) => line);
    const summary = await replay(
      { stream: SOURCE, target: 'replica-compacted', compact: true, replayId: 'compacted-1' },
      'compacted-1',
    );
    const newest = new Map<string, RecordLine>();
    for (const line of lines) {
      const current = newest.get(line.partitionKey);
      if (
        !current ||
        BigInt(line.sequenceNumber) > BigInt(current.sequenceNumber) ||
        (line.sequenceNumber === current.sequenceNumber && line.subSequenceNumber > current.subSequenceNumber)
      ) {
        newest.set(line.partitionKey, line);
      }
    }
    expect(summary).toMatchObject({ put: newest.size, problemCount: 0 });
    const out = decoded(await readStream(env.kinesis, 'replica-compacted'));
    expect(out).toHaveLength(newest.size);
    for (const record of out) {
      const line = newest.get(record.partitionKey)!;
      expect(record.position).toMatchObject({ shardId: line.shardId, sequenceNumber: line.sequenceNumber });
      expect(record.payload.equals(decodePayload(line.data, line.encoding))).toBe(true);
    }
  });

  it('given compact with filterStage after, then only keys whose newest record passes the filter are replayed', async () => {
    await createArchivedStream(env.kinesis, 'replica-compacted-after', 1, false);
    const filter = { data: { host: ['spark-1'] } };
    const summary = await replay(
      { stream: SOURCE, target: 'replica-compacted-after', compact: true, filter, filterStage: 'after' },
      'compacted-after',
    );
    const out = decoded(await readStream(env.kinesis, 'replica-compacted-after'));
    expect(out.length).toBe(summary.put);
    expect(out.length).toBeGreaterThan(0);
    expect(
      out.every((r) => (JSON.parse(r.payload.toString('utf8')) as { host: string }).host === 'spark-1'),
    ).toBe(true);
  });
});
