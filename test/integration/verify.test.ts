import { gzipSync } from 'node:zlib';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { archiveRuntime } from '../../src/archive/runtime';
import { s3Client } from '../../src/aws/clients';
import { columnarCommand } from '../../src/cli/commands/columnar';
import { NOT_VERIFIED_EXIT_CODE, verifyCommand, type VerifyReport } from '../../src/cli/commands/verify';
import { columnarManifestKey, type ColumnarManifest } from '../../src/core/columnar';
import { archiveStreamPrefix, parseArchiveObjectKey } from '../../src/core/layout';
import { compareSequenceNumbers } from '../../src/core/sequence';
import { runLocalStateMachine } from '../../src/local/state-machine-runner';
import { putAll, telemetryRecord } from '../../src/local/traffic';
import { createArchivedStream, useEmulators } from '../support/emulators';
import { quietly } from '../support/quietly';

const env = useEmulators();
const STREAM = 'verify-it';

/** `reservoir verify --local --json`: the report it prints, and the exit code it fails with (0 when none). */
async function verify(
  options: { deep?: boolean; from?: string; to?: string } = {},
): Promise<{ report: VerifyReport; exitCode: number }> {
  let printed = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    printed += String(chunk);
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const exitCode = await verifyCommand({ local: true, stream: [STREAM], json: true, ...options }).then(
      () => 0,
      (error: { exitCode?: number }) => error.exitCode ?? -1,
    );
    return { report: JSON.parse(printed) as VerifyReport, exitCode };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** The stream's objects of one shard in sequence order, with their bodies and metadata. */
async function shardObjects() {
  const { store, config } = archiveRuntime();
  const keys = (await store.listKeys(archiveStreamPrefix(config.prefix, STREAM))).filter((k) =>
    parseArchiveObjectKey(k),
  );
  const shard = parseArchiveObjectKey(keys[0]!)!.shardId;
  return keys
    .filter((k) => parseArchiveObjectKey(k)!.shardId === shard)
    .sort((a, b) =>
      compareSequenceNumbers(
        parseArchiveObjectKey(a)!.firstSequenceNumber,
        parseArchiveObjectKey(b)!.firstSequenceNumber,
      ),
    );
}

async function withObjectGone<T>(
  key: string,
  replacement: Uint8Array | null,
  check: () => Promise<T>,
): Promise<T> {
  const { store } = archiveRuntime();
  const body = (await store.getObject(key))!;
  const metadata = (await store.getMetadata(key))!;
  if (replacement) await store.putObject(key, replacement, 'application/x-ndjson', 'gzip', metadata);
  else await store.deleteKeys([key]);
  try {
    return await check();
  } finally {
    await store.putObject(key, body, 'application/x-ndjson', 'gzip', metadata);
  }
}

beforeAll(async () => {
  // Three archive runs with records put before each: every shard gets an object per run, chained.
  await createArchivedStream(env.kinesis, STREAM, 2);
  for (let round = 0; round < 3; round += 1) {
    await putAll(
      env.kinesis,
      STREAM,
      Array.from({ length: 40 }, (_, i) => telemetryRecord(round * 100 + i)),
    );
    await runLocalStateMachine('archive', { streams: [STREAM] }, { executionName: `verify-it-${round}` });
  }
}, 120_000);

describe('reservoir verify on the emulators', () => {
  it('given an archived stream, then verify (and verify --deep) says full, proves every join and exits 0', async () => {
    const objects = await shardObjects();
    expect(objects.length).toBeGreaterThanOrEqual(3);
    const { bucket } = archiveRuntime().config;
    // The metadata went through S3 (s3rver) and back: the chain's second link names the first's end.
    const head = await s3Client().send(new HeadObjectCommand({ Bucket: bucket, Key: objects[1]! }));
    expect(head.Metadata?.['reservoir-previous']).toBe(
      parseArchiveObjectKey(objects[0]!)!.lastSequenceNumber,
    );

    const { report, exitCode } = await verify();
    expect(exitCode).toBe(0);
    expect(report.ok).toBe(true);
    const [stream] = report.streams;
    expect(stream).toMatchObject({ stream: STREAM, status: 'full', notes: [] });
    expect(stream!.joins.proven).toBeGreaterThanOrEqual(4);
    expect(stream!.joins.unproven).toBe(0);
    expect((await verify({ deep: true })).exitCode).toBe(0);
  });

  it('given one object deleted from the middle of a shard, then its hour is reported not full, naming the missing range, and verify exits non-zero', async () => {
    const objects = await shardObjects();
    const victim = parseArchiveObjectKey(objects[1]!)!;
    const { report, exitCode, later } = await withObjectGone(objects[1]!, null, async () => ({
      ...(await verify()),
      // --from after the hole: its hours are not reported.
      later: await verify({ from: '2099-01-01T00:00:00Z' }),
    }));
    expect(later).toMatchObject({ exitCode: 0, report: { ok: true, streams: [{ hours: [] }] } });
    expect(exitCode).toBe(NOT_VERIFIED_EXIT_CODE);
    const hour = report.streams[0]!.hours.find((h) => h.dt === victim.dt && h.hr === victim.hr)!;
    expect(hour.status).toBe('partial');
    expect(hour.findings).toEqual([
      expect.objectContaining({
        shardId: victim.shardId,
        detail: expect.stringContaining(
          `between ${parseArchiveObjectKey(objects[0]!)!.lastSequenceNumber} and`,
        ),
      }),
    ]);
    expect((await verify()).exitCode).toBe(0);
  });

  it('given the same hole recorded in the gap ledger, then the hour is an acknowledged gap and verify exits 0', async () => {
    const { store, config } = archiveRuntime();
    const objects = await shardObjects();
    const [before, victim, after] = objects.slice(0, 3).map((k) => parseArchiveObjectKey(k)!);
    const ledgerKey = `${config.prefix}gaps/stream=${STREAM}/${victim!.shardId}/${before!.lastSequenceNumber}-${after!.firstSequenceNumber}.json`;
    await store.putJson(ledgerKey, { stream: STREAM, shardId: victim!.shardId, note: 'test' });
    try {
      const { report, exitCode } = await withObjectGone(objects[1]!, null, () => verify());
      expect(exitCode).toBe(0);
      const hour = report.streams[0]!.hours.find((h) => h.dt === victim!.dt && h.hr === victim!.hr)!;
      expect(hour.status).toBe('gap');
      expect(hour.findings[0]!.detail).toContain('(acknowledged gap)');
    } finally {
      await store.deleteKeys([ledgerKey]);
    }
  });

  it('given one object rewritten with its gzip cut short, then only verify --deep finds it: corrupt, non-zero exit', async () => {
    const { store } = archiveRuntime();
    const key = (await shardObjects())[2]!;
    const whole = (await store.getObject(key))!;
    const cut = whole.subarray(0, Math.floor(whole.length / 2));
    const { shallow, deep } = await withObjectGone(key, cut, async () => ({
      shallow: await verify(),
      deep: await verify({ deep: true }),
    }));
    expect(shallow.exitCode).toBe(0);
    expect(deep.exitCode).toBe(NOT_VERIFIED_EXIT_CODE);
    expect(deep.report.streams[0]!.status).toBe('corrupt');
    const findings = deep.report.streams[0]!.hours.flatMap((h) => h.findings);
    expect(findings).toEqual([
      expect.objectContaining({ status: 'corrupt', detail: expect.stringContaining('gzip') }),
    ]);
    // A whole gzip with a line missing is found by the line count the archiver recorded.
    const { report } = await withObjectGone(key, gzipSync('{"not":"a record line"}\n'), () =>
      verify({ deep: true }),
    );
    expect(report.streams[0]!.hours.flatMap((h) => h.findings.map((f) => f.detail)).join()).toContain(
      'the archiver wrote',
    );
  });

  it('given its hours converted to Parquet, then verify --deep reads the Parquet and says full, with the JSONL gone too; a deleted Parquet file makes the hour missing', async () => {
    const converted = await quietly(() =>
      columnarCommand({ local: true, stream: [STREAM], includeOpen: true }),
    );
    expect(converted.failures).toEqual([]);
    expect(converted.hours.length).toBeGreaterThan(0);
    expect((await verify({ deep: true })).exitCode).toBe(0);

    const { store, config } = archiveRuntime();
    const manifests = await Promise.all(
      converted.hours.map(
        async (h) => (await store.getJson<ColumnarManifest>(columnarManifestKey(config.prefix, h)))!.value,
      ),
    );
    // jsonl-days: the converted JSONL expires; the manifests still cover it.
    await store.deleteKeys(manifests.flatMap((m) => m.sources.map((s) => s.key)));
    const afterExpiry = await verify({ deep: true });
    expect(afterExpiry.exitCode).toBe(0);
    expect(afterExpiry.report.streams[0]!.hours.every((h) => h.converted && h.objects === 0)).toBe(true);

    const file = manifests[0]!.files[0]!;
    await store.deleteKeys([file.key]);
    const { report, exitCode } = await verify();
    expect(exitCode).toBe(NOT_VERIFIED_EXIT_CODE);
    const hour = report.streams[0]!.hours.find(
      (h) => h.dt === manifests[0]!.dt && h.hr === manifests[0]!.hr,
    )!;
    expect(hour.status).toBe('missing');
    expect(hour.findings[0]!.detail).toContain('listed by the manifest is gone');
  });
});
