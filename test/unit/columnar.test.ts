import fc from 'fast-check';
import { initialCheckpoint, type Checkpoint } from '../../src/core/checkpoint';
import {
  HOUR_MS,
  columnarManifestKey,
  conversionWatermark,
  generationId,
  groupByHour,
  hoursToConvert,
  isHourClosed,
  needsConversion,
  parquetKey,
  parseManifestKey,
  rowGroupRows,
} from '../../src/core/columnar';
import { archiveObjectKey } from '../../src/core/layout';
import { countLines } from '../../src/columnar/convert-hour';
import { columnarSelectSql, COLUMNAR_COLUMNS } from '../../src/columnar/parquet-writer';
import { RECORDS_COLUMNS } from '../../src/sql/records-view';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const HOUR = { stream: 'orders', dt: '2026-03-01', hr: '05' };

function checkpoint(shardId: string, fields: Partial<Checkpoint> = {}): Checkpoint {
  return { ...initialCheckpoint('orders', shardId, []), updatedAt: new Date(T0).toISOString(), ...fields };
}

/** A model of the shards: what arrival times each can still add, from what its checkpoint says. */
const arbCheckpoints = fc
  .array(
    fc.record({
      last: fc.option(fc.integer({ min: 0, max: 12 * HOUR_MS }), { nil: null }),
      caughtUp: fc.option(fc.integer({ min: 0, max: 12 * HOUR_MS }), { nil: undefined }),
      drained: fc.boolean(),
      pendingAt: fc.option(fc.integer({ min: 0, max: 12 * HOUR_MS }), { nil: null }),
      childOf: fc.option(fc.nat(5), { nil: null }),
    }),
    { minLength: 1, maxLength: 6 },
  )
  .map((shards) =>
    shards.map((s, i) =>
      checkpoint(`shardId-${i}`, {
        lastArrivalTimestamp: s.last === null ? null : T0 + s.last,
        ...(s.caughtUp === undefined ? {} : { caughtUpTo: T0 + s.caughtUp }),
        drained: s.drained && s.pendingAt === null,
        parentShardIds: s.childOf !== null && s.childOf < i ? [`shardId-${s.childOf}`] : [],
        pending:
          s.pendingAt === null || s.drained
            ? null
            : {
                key: archiveObjectKey('', 'orders', `shardId-${i}`, T0 + s.pendingAt, '1', '2'),
                firstSequenceNumber: '1',
                lastSequenceNumber: '2',
                lastArrivalTimestamp: T0 + s.pendingAt,
                records: 1,
                bytes: 1,
              },
      }),
    ),
  );

/** Could this shard (or, when drained, its unread children) still put a record at `t`? */
function canAdd(c: Checkpoint, all: Checkpoint[], t: number): boolean {
  if (c.pending && Math.floor(c.pending.lastArrivalTimestamp / HOUR_MS) === Math.floor(t / HOUR_MS))
    return true;
  if (c.drained) {
    const childRead = all.some((o) => o.parentShardIds.includes(c.shardId));
    return !childRead && t >= (c.lastArrivalTimestamp ?? Number.NEGATIVE_INFINITY);
  }
  if (c.pending) return t >= c.pending.lastArrivalTimestamp;
  const known = Math.max(
    c.lastArrivalTimestamp ?? Number.NEGATIVE_INFINITY,
    c.caughtUpTo ?? Number.NEGATIVE_INFINITY,
  );
  return t >= known;
}

describe('the closed-hour rule', () => {
  it('given any checkpoints, then an hour is closed only if no shard can still add a record to it', () => {
    fc.assert(
      fc.property(
        arbCheckpoints,
        fc.integer({ min: 0, max: 12 }),
        fc.array(fc.nat(HOUR_MS - 1), { minLength: 1, maxLength: 20 }),
        (checkpoints, h, offsets) => {
          const start = T0 + h * HOUR_MS;
          if (!isHourClosed(start, checkpoints)) return;
          for (const offset of [0, HOUR_MS - 1, ...offsets])
            for (const c of checkpoints) expect(canAdd(c, checkpoints, start + offset)).toBe(false);
        },
      ),
    );
  });

  it('given any checkpoints without pending blocks, then the closed hours are a prefix of time', () => {
    fc.assert(
      fc.property(arbCheckpoints, fc.integer({ min: 1, max: 12 }), (raw, h) => {
        const checkpoints = raw.map((c) => ({ ...c, pending: null }));
        if (isHourClosed(T0 + h * HOUR_MS, checkpoints))
          expect(isHourClosed(T0 + (h - 1) * HOUR_MS, checkpoints)).toBe(true);
      }),
    );
  });

  it('given any checkpoints, when a shard archives later records, then no closed hour opens again', () => {
    fc.assert(
      fc.property(
        arbCheckpoints,
        fc.nat(5),
        fc.integer({ min: 0, max: 3 * HOUR_MS }),
        fc.integer({ min: 0, max: 12 }),
        (checkpoints, which, step, h) => {
          const start = T0 + h * HOUR_MS;
          const i = which % checkpoints.length;
          const c = checkpoints[i]!;
          if (c.pending || c.drained) return;
          const later = [...checkpoints];
          later[i] = { ...c, lastArrivalTimestamp: (c.lastArrivalTimestamp ?? T0) + step };
          if (isHourClosed(start, checkpoints)) expect(isHourClosed(start, later)).toBe(true);
        },
      ),
    );
  });

  it('given a quiet shard caught up past the hour, then the hour is closed; before that it is open', () => {
    const end = T0 + 6 * HOUR_MS;
    const busy = checkpoint('shardId-0', { lastArrivalTimestamp: end + 1 });
    expect(
      isHourClosed(T0 + 5 * HOUR_MS, [busy, checkpoint('shardId-1', { lastArrivalTimestamp: T0 })]),
    ).toBe(false);
    expect(
      isHourClosed(T0 + 5 * HOUR_MS, [
        busy,
        checkpoint('shardId-1', { lastArrivalTimestamp: T0, caughtUpTo: end }),
      ]),
    ).toBe(true);
  });

  it('given no checkpoints, then nothing is closed', () => {
    expect(isHourClosed(T0, [])).toBe(false);
  });
});

describe('the re-conversion rule', () => {
  const sources = [
    { key: 'archive/stream=orders/dt=2026-03-01/hr=05/shardId-0/1-2.jsonl.gz', bytes: 10 },
    { key: 'archive/stream=orders/dt=2026-03-01/hr=05/shardId-1/3-4.jsonl.gz', bytes: 20 },
  ];
  it('given no manifest, then an hour with objects is converted and an empty one is not', () => {
    expect(needsConversion(null, sources)).toBe(true);
    expect(needsConversion(null, [])).toBe(false);
  });
  it('given a manifest of the same objects in any order, then nothing is done', () => {
    expect(needsConversion({ sources: [sources[1]!, sources[0]!] }, sources)).toBe(false);
  });
  it('given a late object or a changed size, then the hour is converted again', () => {
    const late = { key: 'archive/stream=orders/dt=2026-03-01/hr=05/shardId-1/5-6.jsonl.gz', bytes: 5 };
    expect(needsConversion({ sources }, [...sources, late])).toBe(true);
    expect(needsConversion({ sources }, [sources[0]!, { ...sources[1]!, bytes: 21 }])).toBe(true);
  });
  it('given an object the manifest lists that has expired, then the hour is not converted again (its Parquet keeps those records)', () => {
    expect(needsConversion({ sources }, [sources[0]!])).toBe(false);
  });
  it('given hours closed and open, converted and not, then only closed unconverted hours within the bounds are planned', () => {
    const key = (hr: number, shard: number) =>
      archiveObjectKey('', 'orders', `shardId-${shard}`, T0 + hr * HOUR_MS + 60_000, `${hr}0`, `${hr}9`);
    const objects = [0, 1, 2, 3].map((hr) => ({ key: key(hr, 0), bytes: 100 + hr }));
    const listings = groupByHour('orders', objects);
    expect(listings.map((l) => l.hour.hr)).toEqual(['00', '01', '02', '03']);
    const checkpoints = [checkpoint('shardId-0', { lastArrivalTimestamp: T0 + 3 * HOUR_MS + 60_000 })];
    const manifests = new Map([['orders/2026-03-01/01', { sources: [objects[1]!] }]]);
    const hours = (selection = {}) =>
      hoursToConvert(listings, checkpoints, manifests, selection).map((l) => l.hour.hr);
    expect(hours()).toEqual(['00', '02']);
    expect(hours({ includeOpen: true })).toEqual(['00', '02', '03']);
    expect(hours({ fromMs: T0 + HOUR_MS + 1 })).toEqual(['02']);
    expect(hours({ toMs: T0 + HOUR_MS })).toEqual(['00']);
  });
});

describe('the conversion watermark', () => {
  const listing = (hr: number) => ({
    hour: { stream: 'orders', dt: '2026-03-01', hr: String(hr).padStart(2, '0') },
    sources: [
      {
        key: `archive/stream=orders/dt=2026-03-01/hr=${String(hr).padStart(2, '0')}/s/1-2.jsonl.gz`,
        bytes: 1,
      },
    ],
  });

  it('given any checkpoints, listings and due hours, then before the watermark every listed hour is closed and not due, and no shard can add a record', () => {
    fc.assert(
      fc.property(
        arbCheckpoints,
        fc.uniqueArray(fc.integer({ min: 0, max: 12 }), { maxLength: 8 }),
        fc.array(fc.boolean(), { minLength: 13, maxLength: 13 }),
        fc.array(fc.nat(HOUR_MS - 1), { minLength: 1, maxLength: 10 }),
        (checkpoints, hours, dueFlags, offsets) => {
          const listings = hours.sort((a, b) => a - b).map(listing);
          const due = listings.filter((_, i) => dueFlags[i]);
          const watermark = conversionWatermark(listings, checkpoints, due);
          if (watermark === null) return;
          for (const l of listings) {
            const start = T0 + Number(l.hour.hr) * HOUR_MS;
            if (start >= watermark) continue;
            expect(isHourClosed(start, checkpoints)).toBe(true);
            expect(due).not.toContain(l);
          }
          for (let start = T0; start < watermark; start += HOUR_MS)
            for (const offset of [0, HOUR_MS - 1, ...offsets])
              for (const c of checkpoints) expect(canAdd(c, checkpoints, start + offset)).toBe(false);
        },
      ),
    );
  });

  it('given closed converted hours and a shard caught up into hour 3, then the watermark is hour 3; a due hour pulls it back', () => {
    const checkpoints = [checkpoint('shardId-0', { lastArrivalTimestamp: T0 + 3 * HOUR_MS + 60_000 })];
    const listings = [0, 1, 2, 3].map(listing);

    expect(conversionWatermark(listings, checkpoints, [])).toBe(T0 + 3 * HOUR_MS);
    expect(conversionWatermark(listings, checkpoints, [listings[1]!])).toBe(T0 + HOUR_MS);
  });

  it('given a shard that archived nothing and never caught up, or no checkpoints, then there is no watermark (list everything)', () => {
    const busy = checkpoint('shardId-0', { lastArrivalTimestamp: T0 + 3 * HOUR_MS });
    expect(conversionWatermark([listing(0)], [busy, checkpoint('shardId-1')], [])).toBeNull();
    expect(conversionWatermark([listing(0)], [], [])).toBeNull();
  });
});

describe('columnar keys and files', () => {
  it('given an hour, then its manifest and Parquet keys follow the layout', () => {
    expect(columnarManifestKey('p/', HOUR)).toBe(
      'p/columnar/stream=orders/dt=2026-03-01/hr=05/_manifest.json',
    );
    expect(parquetKey('', HOUR, 'g1', 3)).toBe('columnar/stream=orders/dt=2026-03-01/hr=05/g1-00003.parquet');
    expect(parseManifestKey(columnarManifestKey('p/', HOUR))).toEqual(HOUR);
    expect(parseManifestKey('columnar/stream=orders/dt=2026-03-01/hr=05/g1-00000.parquet')).toBeNull();
  });
  it('given two conversion times, then their generation ids sort in time order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4e12 }), fc.integer({ min: 1, max: 1e9 }), (a, d) => {
        const first = generationId(new Date(a), 'ffffffff');
        const second = generationId(new Date(a + d), '00000000');
        expect(first < second).toBe(true);
        expect(first).toMatch(/^g\d{8}T\d{9}Z-[0-9a-f]{8}$/);
      }),
    );
  });
  it('given record sizes, then a row group holds about 128 MiB of record lines', () => {
    expect(rowGroupRows(1_000 * 1_000_000, 1_000_000)).toBe(134_217);
    expect(rowGroupRows(10, 1)).toBe(10_000_000);
    expect(rowGroupRows(64 * 1024 * 1024, 1)).toBe(2_048);
    expect(rowGroupRows(0, 0)).toBe(122_880);
  });
  it('given record-line text, then lines are counted with or without a final newline', () => {
    expect(countLines(Buffer.from('a\nb\n'))).toBe(2);
    expect(countLines(Buffer.from('a\nb'))).toBe(2);
    expect(countLines(Buffer.from(''))).toBe(0);
  });
  it('given the records view, then the Parquet columns are its columns but source, in order', () => {
    expect(COLUMNAR_COLUMNS.map((c) => [c.name, c.type])).toEqual(
      RECORDS_COLUMNS.filter((c) => c.name !== 'source').map((c) => [c.name, c.type]),
    );
    expect(columnarSelectSql(['/x.jsonl.gz'])).toContain(
      'ORDER BY shardId, length(sequenceNumber), sequenceNumber, subSequenceNumber',
    );
  });
});
