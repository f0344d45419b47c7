import { gzipSync } from 'node:zlib';
import { initialCheckpoint, type Checkpoint } from '../../src/core/checkpoint';
import type { ColumnarManifest } from '../../src/core/columnar';
import { archiveObjectKey } from '../../src/core/layout';
import { serializeRecordLine } from '../../src/core/record-line';
import { checkJsonlObject, ParquetRowCheck } from '../../src/core/verify-content';
import { isVerified, verifyStream, type VerifyInput, type VerifyObject } from '../../src/core/verify';

const H0 = Date.parse('2026-03-01T05:00:00Z');
const HOUR = 3_600_000;
const S0 = 'shardId-000000000000';
const S1 = 'shardId-000000000001';
const S2 = 'shardId-000000000002';

/** An object of `shard` in the hour `hour` hours after H0 holding sequence numbers first..last. */
function object(
  shard: string,
  hour: number,
  first: number,
  last: number,
  previous?: number | null,
): VerifyObject {
  return {
    key: archiveObjectKey('', 'orders', shard, H0 + hour * HOUR, seq(first), seq(last)),
    bytes: 100,
    ...(previous === undefined ? {} : { previous: previous === null ? null : seq(previous) }),
  };
}

/** Sequence numbers as Kinesis writes them: long decimal strings. */
const seq = (n: number) => `4959000000000000000000${String(n).padStart(6, '0')}`;

function checkpoint(
  shardId: string,
  last: number | null,
  lastHour: number,
  fields: Partial<Checkpoint> = {},
): Checkpoint {
  return {
    ...initialCheckpoint('orders', shardId, []),
    lastSequenceNumber: last === null ? null : seq(last),
    lastArrivalTimestamp: last === null ? null : H0 + lastHour * HOUR + 1000,
    updatedAt: new Date(H0).toISOString(),
    ...fields,
  };
}

function verify(fields: Partial<VerifyInput>) {
  return verifyStream({
    stream: 'orders',
    objects: [],
    checkpoints: [],
    manifests: [],
    columnarObjects: [],
    acknowledgedGaps: [],
    mayExpire: false,
    ...fields,
  });
}

const statusOf = (result: ReturnType<typeof verify>, hour: number) =>
  result.hours.find((h) => Date.parse(`${h.dt}T${h.hr}:00:00Z`) === H0 + hour * HOUR)?.status;

describe('verify: object chains', () => {
  it('given objects that each name the last of the one before, then every hour is full and every join proven', () => {
    const result = verify({
      objects: [object(S0, 0, 1, 10, null), object(S0, 0, 11, 20, 10), object(S0, 1, 25, 30, 20)],
      checkpoints: [checkpoint(S0, 30, 1)],
    });
    expect(result.status).toBe('full');
    expect(result.counts.full).toBe(2);
    expect(result.joins).toEqual({ proven: 2, unproven: 0 });
    expect(isVerified(result)).toBe(true);
  });

  it('given an object whose predecessor is not there, then its hour is partial and the finding names the missing range', () => {
    const result = verify({
      objects: [object(S0, 0, 1, 10, null), object(S0, 0, 31, 40, 30)],
      checkpoints: [checkpoint(S0, 40, 0)],
    });
    expect(result.status).toBe('partial');
    expect(result.hours[0]!.findings).toEqual([
      expect.objectContaining({
        status: 'partial',
        shardId: S0,
        detail: expect.stringContaining(`between ${seq(10)} and ${seq(31)}`),
      }),
    ]);
    expect(isVerified(result)).toBe(false);
  });

  it("given a hole spanning hours, then hours with the stream's other objects are partial and hours with none are missing", () => {
    const result = verify({
      objects: [object(S0, 0, 1, 10, null), object(S0, 3, 51, 60, 40), object(S1, 1, 1, 5, null)],
      checkpoints: [checkpoint(S0, 60, 3), checkpoint(S1, 5, 1)],
    });
    expect([0, 1, 2, 3].map((h) => statusOf(result, h))).toEqual([
      'partial',
      'partial',
      'missing',
      'partial',
    ]);
    expect(result.status).toBe('missing');
  });

  it('given two objects of a shard whose ranges overlap, then their hour is corrupt', () => {
    const result = verify({
      objects: [object(S0, 0, 1, 10, null), object(S0, 0, 8, 20, 10)],
      checkpoints: [checkpoint(S0, 20, 0)],
    });
    expect(result.status).toBe('corrupt');
    expect(result.hours[0]!.findings[0]!.detail).toContain('overlaps');
  });

  it("given a split (a parent's last object, then children starting from their trim horizon), then nothing needs to join across the boundary", () => {
    const result = verify({
      objects: [
        object(S0, 0, 1, 10, null),
        object(S0, 0, 11, 20, 10),
        object(S1, 1, 100, 110, null),
        object(S2, 1, 200, 210, null),
      ],
      checkpoints: [
        checkpoint(S0, 20, 0, { shardState: 'closed', drained: true }),
        checkpoint(S1, 110, 1, { parentShardIds: [S0] }),
        checkpoint(S2, 210, 1, { parentShardIds: [S0] }),
      ],
    });
    expect(result.status).toBe('full');
  });

  it("given a stream deleted and created again, then its shard's new chain joins where the retired checkpoint ended, and nowhere else", () => {
    const input = {
      objects: [object(S0, 0, 1, 10, null), object(S0, 0, 11, 20, 10), object(S0, 1, 900, 910, null)],
      checkpoints: [checkpoint(S0, 910, 1)],
    };
    expect(verify(input).status).toBe('partial');
    const recreated = verify({ ...input, retiredCheckpoints: [checkpoint(S0, 20, 0)] });
    expect(recreated.status).toBe('full');
    expect(recreated.joins).toEqual({ proven: 2, unproven: 0 });
    expect(verify({ ...input, retiredCheckpoints: [checkpoint(S0, 10, 0)] }).status).toBe('partial');
  });

  it('given a hole the gap ledger acknowledges, then it is reported as an acknowledged gap and the stream still verifies', () => {
    const input = {
      objects: [object(S0, 0, 1, 10, 0), object(S0, 0, 11, 20, 10), object(S0, 2, 51, 60, null)],
      checkpoints: [checkpoint(S0, 60, 2)],
      mayExpire: true,
    };
    expect(verify(input).status).toBe('missing');
    const result = verify({ ...input, acknowledgedGaps: [{ shardId: S0, from: seq(20), to: seq(51) }] });
    expect([0, 1, 2].map((h) => statusOf(result, h))).toEqual(['gap', 'gap', 'gap']);
    expect(result.hours[0]!.findings[0]!.detail).toContain('acknowledged');
    expect(isVerified(result)).toBe(true);
    // A gap on another shard explains nothing here.
    expect(verify({ ...input, acknowledgedGaps: [{ shardId: S1, from: seq(20), to: seq(51) }] }).status).toBe(
      'missing',
    );
  });

  it('given a checkpoint with an open (unacknowledged) data gap, then its hour is not full', () => {
    const input = {
      objects: [object(S0, 0, 1, 10, 0), object(S0, 0, 11, 20, 10)],
      checkpoints: [checkpoint(S0, 20, 0)],
      mayExpire: true,
    };
    expect(verify(input).status).toBe('full');
    const open = {
      ...checkpoint(S0, 20, 0),
      openGap: {
        from: seq(20),
        fromArchived: true,
        to: seq(51),
        firstDetected: '2026-03-01T02:00:00Z',
        lastSeen: '2026-03-01T03:00:00Z',
      },
    };
    const result = verify({ ...input, checkpoints: [open] });
    expect(isVerified(result)).toBe(false);
    expect(result.hours[0]!.findings[0]!.detail).toContain('open data gap');
  });

  it('given the archiver resumed after an acknowledged gap (the next object follows the last one before it), then the gap shows, and a loss next to it is still a loss', () => {
    const gap = { shardId: S0, from: seq(20), to: seq(51) };
    const resumed = {
      objects: [
        object(S0, 0, 1, 10, 0),
        object(S0, 0, 11, 20, 10),
        object(S0, 2, 51, 60, 20),
        object(S0, 2, 61, 70, 60),
      ],
      checkpoints: [checkpoint(S0, 70, 2)],
      mayExpire: true,
      acknowledgedGaps: [gap],
    };
    const result = verify(resumed);
    expect([0, 1, 2].map((h) => statusOf(result, h))).toEqual(['gap', 'gap', 'gap']);
    expect(isVerified(result)).toBe(true);
    // The first object after the gap deleted later: the hole runs past the gap's end, a loss.
    const lost = verify({
      ...resumed,
      objects: resumed.objects.filter((o) => !o.key.includes(`-${seq(60)}.`)),
    });
    expect(isVerified(lost)).toBe(false);
    expect(statusOf(lost, 2)).toBe('partial');
  });

  it("given the shard's first object names a predecessor that is gone, then it is a loss unless retention may have expired it", () => {
    const input = { objects: [object(S0, 0, 11, 20, 10)], checkpoints: [checkpoint(S0, 20, 0)] };
    expect(verify(input).status).toBe('partial');
    const expiring = verify({ ...input, mayExpire: true });
    expect(expiring.status).toBe('full');
    expect(expiring.notes).toEqual([
      expect.stringContaining("expired by the stream's retention, or deleted"),
    ]);
  });

  it('given objects written before the chain metadata existed, then their joins are unproven, not holes', () => {
    const result = verify({
      objects: [object(S0, 0, 1, 10), object(S0, 0, 31, 40)],
      checkpoints: [checkpoint(S0, 40, 0)],
    });
    expect(result.status).toBe('full');
    expect(result.joins).toEqual({ proven: 0, unproven: 1 });
  });
});

describe('verify: checkpoint coverage', () => {
  it('given a checkpoint past the last object, then the hours up to its last record are not full', () => {
    const result = verify({
      objects: [object(S0, 0, 1, 10, null), object(S0, 0, 11, 20, 10)],
      checkpoints: [checkpoint(S0, 40, 2)],
    });
    expect([0, 1, 2].map((h) => statusOf(result, h))).toEqual(['partial', 'missing', 'missing']);
    expect(result.hours[2]!.findings[0]!.detail).toContain(`the checkpoint is at ${seq(40)}`);
  });

  it('given a checkpoint and no object of its shard left, then it is a loss unless retention may have expired them all', () => {
    const input = {
      objects: [object(S1, 0, 1, 5, null)],
      checkpoints: [checkpoint(S0, 40, 2), checkpoint(S1, 5, 0)],
    };
    expect(statusOf(verify(input), 2)).toBe('missing');
    const expiring = verify({ ...input, mayExpire: true });
    expect(expiring.status).toBe('full');
    expect(expiring.notes).toEqual([
      expect.stringContaining(`${S0}: no object is left up to the checkpoint`),
    ]);
    // The newest object gone while older ones are left is no expiry.
    const newest = verify({
      ...input,
      objects: [...input.objects, object(S0, 0, 1, 10, null)],
      mayExpire: true,
    });
    expect(statusOf(newest, 2)).toBe('missing');
  });

  it('given a pending block not written yet, then it is a note, not a loss; a written one beyond the checkpoint is fine', () => {
    const pending = {
      key: archiveObjectKey('', 'orders', S0, H0, seq(11), seq(20)),
      firstSequenceNumber: seq(11),
      lastSequenceNumber: seq(20),
      lastArrivalTimestamp: H0,
      records: 3,
      bytes: 50,
    };
    const checkpoints = [checkpoint(S0, 10, 0, { pending })];
    const unwritten = verify({ objects: [object(S0, 0, 1, 10, null)], checkpoints });
    expect(unwritten.status).toBe('full');
    expect(unwritten.notes).toEqual([expect.stringContaining('pending block')]);
    const written = verify({ objects: [object(S0, 0, 1, 10, null), object(S0, 0, 11, 20, 10)], checkpoints });
    expect(written.status).toBe('full');
    expect(written.notes).toEqual([]);
  });
});

describe('verify: Parquet hours', () => {
  const jsonlA = object(S0, 0, 1, 10, null);
  const jsonlB = object(S0, 0, 11, 20, 10);
  const parquet = { key: 'columnar/stream=orders/dt=2026-03-01/hr=05/g1-00000.parquet', bytes: 900, rows: 7 };
  const manifest: ColumnarManifest = {
    version: 1,
    stream: 'orders',
    dt: '2026-03-01',
    hr: '05',
    generation: 'g1',
    files: [parquet],
    sources: [jsonlA, jsonlB].map((o) => ({ key: o.key, bytes: o.bytes })),
    records: 7,
    createdAt: new Date(H0).toISOString(),
  };
  const base = { manifests: [manifest], checkpoints: [checkpoint(S0, 30, 1)] };
  const later = object(S0, 1, 21, 30, 20);

  it('given an hour converted whose JSONL expired (jsonl-days), then the manifest covers it: full', () => {
    const result = verify({ ...base, objects: [later], columnarObjects: [parquet] });
    expect(result.status).toBe('full');
    expect(result.hours[0]).toMatchObject({ converted: true, objects: 0, status: 'full' });
  });

  it('given a Parquet file its manifest lists is gone, then the hour is missing; another size is corrupt', () => {
    expect(statusOf(verify({ ...base, objects: [later] }), 0)).toBe('missing');
    expect(
      statusOf(verify({ ...base, objects: [later], columnarObjects: [{ ...parquet, bytes: 5 }] }), 0),
    ).toBe('corrupt');
  });

  it('given what --deep found in an object or a Parquet file, then its hour is corrupt', () => {
    const result = verify({
      ...base,
      objects: [jsonlA, jsonlB, later],
      columnarObjects: [parquet],
      contentProblems: new Map([
        [later.key, ['gzip: unexpected end of file']],
        [parquet.key, ['6 rows, the manifest says 7']],
        [jsonlA.key, []],
      ]),
    });
    expect([0, 1].map((h) => statusOf(result, h))).toEqual(['corrupt', 'corrupt']);
    expect(result.hours[1]!.findings[0]).toMatchObject({
      shardId: S0,
      detail: expect.stringContaining('gzip'),
    });
  });

  it('given --from and --to, then only the hours in the window are reported, the chains still checked over all', () => {
    const result = verify({
      objects: [object(S0, 0, 1, 10, null), object(S0, 3, 31, 40, 30)],
      checkpoints: [checkpoint(S0, 40, 3)],
      fromMs: H0 + 2 * HOUR,
      toMs: H0 + 3 * HOUR,
    });
    expect(result.hours.map((h) => h.hr)).toEqual(['07']);
    expect(result.hours[0]!.status).toBe('missing');
  });
});

describe('verify --deep: reading an object', () => {
  const first = seq(1);
  const last = seq(3);
  const key = archiveObjectKey('', 'orders', S0, H0, first, last);
  const line = (n: number, fields: { shardId?: string; at?: number } = {}) =>
    serializeRecordLine({
      stream: 'orders',
      shardId: fields.shardId ?? S0,
      sequenceNumber: seq(n),
      subSequenceNumber: 0,
      partitionKey: 'k',
      arrivalTimestamp: fields.at ?? H0 + n,
      data: Buffer.from(`{"n":${n}}`),
    });
  const body = (lines: string[]) => gzipSync(`${lines.join('\n')}\n`);

  it('given an intact object, then nothing is found', () => {
    expect(checkJsonlObject(key, body([line(1), line(2), line(3)]), 3)).toEqual([]);
  });

  it('given its gzip cut short, then the gzip is reported', () => {
    const whole = body([line(1), line(2), line(3)]);
    expect(checkJsonlObject(key, whole.subarray(0, whole.length - 12), 3)).toEqual([
      expect.stringMatching(/^gzip: /),
    ]);
  });

  it('given lines outside its name, its shard or its hour, or another line count, then each is reported', () => {
    expect(checkJsonlObject(key, body([line(1), line(2), line(3)]), 4)).toEqual([
      '3 lines, the archiver wrote 4',
    ]);
    expect(checkJsonlObject(key, body([line(1), line(4)]))).toEqual([
      `line 2 (${seq(4)}) lies outside the object's range`,
      `the last line is not ${last}`,
    ]);
    expect(
      checkJsonlObject(key, body([line(1), line(2, { shardId: S1 }), line(3, { at: H0 + HOUR })])),
    ).toEqual([
      `line 2 (${seq(2)}) is of orders/${S1}`,
      `line 3 (${seq(3)}) arrived outside the object's hour`,
    ]);
    expect(checkJsonlObject(key, gzipSync(`${line(1)}\nnot json\n${line(3)}\n`))[0]).toMatch(/^line 2: /);
  });

  it("given Parquet rows, then their count is the manifest's and each lies in a source of its shard", () => {
    const file = { key: 'f.parquet', bytes: 1, rows: 3 };
    const manifest = { stream: 'orders', sources: [{ key, bytes: 1 }] };
    const row = (n: number, shardId = S0) => ({ ...JSON.parse(line(n, { shardId })), subSequenceNumber: 0 });
    const intact = new ParquetRowCheck(manifest, file);
    intact.add([row(1), row(2)]);
    intact.add([row(3)]);
    expect(intact.finish()).toEqual([]);
    const wrong = new ParquetRowCheck(manifest, file);
    wrong.add([row(1), row(9), row(2, S1)]);
    wrong.add([row(3)]);
    expect(wrong.finish()).toEqual([
      `row 2 (${S0} ${seq(9)}) lies in no source's range`,
      `row 3 (${S1} ${seq(2)}) lies in no source's range`,
      '4 rows, the manifest says 3',
    ]);
  });
});
