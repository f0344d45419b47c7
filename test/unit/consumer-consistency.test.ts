import fc from 'fast-check';
import type { _Record } from '@aws-sdk/client-kinesis';
import {
  comparePositions,
  createPositionComparator,
  decodeRecords,
  encodeEnvelope,
  isForceOverwrite,
  KeyStateTracker,
  type DecodedRecord,
  type PositionComparator,
  type ShardLineage,
} from '../../src/consumer';
import { toRecordLine, type RecordLine } from '../../src/core/record-line';
import { kplAggregate } from '../../src/local/traffic';

/**
 * The consistency rule's guarantee, tested on a model of a Kinesis stream:
 * - live writes over a few keys, some KPL-aggregated (one Kinesis record, several user records
 *   with sub-sequence numbers);
 * - shards that split and merge: a key's hash belongs to one open shard, and moves to a child
 *   when its shard is split or merged; sequence numbers grow within a shard, and a child's may
 *   be smaller than its parent's (they are never comparable across shards);
 * - replays of any contiguous slice of the history with any filter, put into the same stream
 *   as envelopes with the original keys, each replay keeping every key's records in their
 *   original order;
 * - a consumer that reads live shards in order (parents drained before children, as Lambda and
 *   the KCL do) while replays arrive interleaved arbitrarily, with redeliveries.
 * Once everything is read, the consumer's state for every key (the last value applied) equals
 * the state of reading the whole stream in order.
 */

const STREAM = 'orders';
const KEYS = ['alpha', 'beta', 'gamma', 'delta'];
const SEQ_SPACE = 10n ** 56n;

type Op =
  | { kind: 'write'; key: number; extra: number[]; step: bigint }
  | { kind: 'split'; shard: number; assign: boolean[]; bases: [bigint, bigint] }
  | { kind: 'merge'; a: number; b: number; base: bigint };

interface ReplaySpec {
  from: number;
  length: number;
  keep: (index: number) => boolean;
  annotations: Record<string, unknown>;
}

interface Scenario {
  initialShards: number;
  bases: bigint[];
  ops: Op[];
  replays: ReplaySpec[];
  schedule: number[];
  redeliveries: [number, number][];
  lambdaShape: boolean[];
}

/** One Kinesis record as a shard holds it (a plain record or a KPL aggregate). */
interface KinesisRecord {
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  data: Buffer;
}

interface History {
  /** Every user record, in the order written (= arrival order). */
  lines: RecordLine[];
  /** Live Kinesis records per shard, in shard order. */
  shards: Map<string, KinesisRecord[]>;
  lineage: Map<string, string[]>;
  /** The open shard each key maps to at the end. */
  keyShard: Map<string, string>;
  nextSeq: Map<string, bigint>;
}

type Naming = (index: number) => string;
const kinesisNaming: Naming = (index) => `shardId-${String(index).padStart(12, '0')}`;
// Shard numbers running backwards: only the lineage can order these shards correctly.
const reversedNaming: Naming = (index) => `shardId-${String(1000 - index).padStart(12, '0')}`;

const payloadOf = (value: number, key: string): Buffer => {
  switch (value % 3) {
    case 0:
      return Buffer.from(JSON.stringify({ key, value }));
    case 1:
      return Buffer.from(` value ${value} of ${key}\n`);
    default:
      return Buffer.from([0xff, 0xfe, value & 0xff, value >> 8]);
  }
};

function simulate(scenario: Scenario, name: Naming): History {
  let shardCount = 0;
  const newShard = (base: bigint) => {
    const id = name(shardCount++);
    nextSeq.set(id, base % SEQ_SPACE);
    shards.set(id, []);
    return id;
  };
  const shards = new Map<string, KinesisRecord[]>();
  const nextSeq = new Map<string, bigint>();
  const lineage = new Map<string, string[]>();
  const open = new Set<string>();
  const initial = Array.from({ length: scenario.initialShards }, (_, i) => newShard(scenario.bases[i] ?? 0n));
  initial.forEach((id) => open.add(id));
  const keyShard = new Map(KEYS.map((key, i) => [key, initial[i % initial.length]!]));
  const lines: RecordLine[] = [];
  let value = 0;

  for (const op of scenario.ops) {
    const openShards = [...open];
    if (op.kind === 'write') {
      const first = KEYS[op.key % KEYS.length]!;
      const shardId = keyShard.get(first)!;
      // A KPL aggregate holds user records that map to the same shard.
      const keys = [
        first,
        ...op.extra.map((i) => KEYS[i % KEYS.length]!).filter((k) => keyShard.get(k) === shardId),
      ];
      const sequenceNumber = (nextSeq.get(shardId)! + op.step).toString();
      nextSeq.set(shardId, BigInt(sequenceNumber));
      const users = keys.map((key) => ({ partitionKey: key, data: payloadOf(value++, key) }));
      users.forEach((user, subSequenceNumber) =>
        lines.push(
          toRecordLine({
            stream: STREAM,
            shardId,
            sequenceNumber,
            subSequenceNumber: users.length > 1 ? subSequenceNumber : 0,
            partitionKey: user.partitionKey,
            arrivalTimestamp: 1_732_183_200_000 + lines.length,
            data: user.data,
          }),
        ),
      );
      const aggregates = users.length > 1 ? kplAggregate(users) : users;
      expect(aggregates).toHaveLength(1);
      shards.get(shardId)!.push({
        shardId,
        sequenceNumber,
        partitionKey: aggregates[0]!.partitionKey,
        data: aggregates[0]!.data,
      });
    } else if (op.kind === 'split') {
      const parent = openShards[op.shard % openShards.length]!;
      const children = [newShard(op.bases[0]), newShard(op.bases[1])];
      open.delete(parent);
      children.forEach((child) => (open.add(child), lineage.set(child, [parent])));
      KEYS.forEach((key, i) => {
        if (keyShard.get(key) === parent) keyShard.set(key, children[op.assign[i] ? 1 : 0]!);
      });
    } else {
      if (openShards.length < 2) continue;
      const a = openShards[op.a % openShards.length]!;
      const rest = openShards.filter((id) => id !== a);
      const b = rest[op.b % rest.length]!;
      const child = newShard(op.base);
      open.delete(a);
      open.delete(b);
      open.add(child);
      lineage.set(child, [a, b]);
      for (const key of KEYS)
        if (keyShard.get(key) === a || keyShard.get(key) === b) keyShard.set(key, child);
    }
  }
  return { lines, shards, lineage, keyShard, nextSeq };
}

/** A replay's records, put into the stream: envelopes in the key's current shard, per key in order. */
function replayQueues(history: History, replay: ReplaySpec, replayIndex: number): KinesisRecord[][] {
  const from = replay.from % (history.lines.length + 1);
  const selected = history.lines.slice(from, from + replay.length).filter((_, i) => replay.keep(from + i));
  const perKey = new Map<string, KinesisRecord[]>();
  for (const line of selected) {
    const shardId = history.keyShard.get(line.partitionKey)!;
    const sequenceNumber = history.nextSeq.get(shardId)! + 1n;
    history.nextSeq.set(shardId, sequenceNumber);
    const record = {
      shardId,
      sequenceNumber: sequenceNumber.toString(),
      partitionKey: line.partitionKey,
      data: encodeEnvelope(line, `replay-${replayIndex}`, replay.annotations),
    };
    perKey.set(line.partitionKey, [...(perKey.get(line.partitionKey) ?? []), record]);
  }
  return [...perKey.values()];
}

/**
 * What the consumer sees: live shards in order, a child only once all its parents are drained;
 * replay queues in order per key; any interleaving of those; then some records delivered again.
 */
function deliveries(history: History, replays: KinesisRecord[][], scenario: Scenario): KinesisRecord[] {
  const live = [...history.shards.entries()].map(([shardId, records]) => ({
    shardId,
    records: [...records],
  }));
  const queues = replays.map((records) => ({ shardId: null as string | null, records: [...records] }));
  const drained = (shardId: string) => live.find((q) => q.shardId === shardId)!.records.length === 0;
  const out: KinesisRecord[] = [];
  for (let step = 0; ; step++) {
    const available = [...live, ...queues].filter(
      (q) =>
        q.records.length > 0 && (q.shardId === null || (history.lineage.get(q.shardId) ?? []).every(drained)),
    );
    if (available.length === 0) break;
    const pick = scenario.schedule.length === 0 ? 0 : scenario.schedule[step % scenario.schedule.length]!;
    out.push(available[pick % available.length]!.records.shift()!);
  }
  expect(out).toHaveLength(
    [...history.shards.values()].reduce((n, r) => n + r.length, 0) +
      replays.reduce((n, r) => n + r.length, 0),
  );
  for (const [which, where] of scenario.redeliveries) {
    if (out.length === 0) break;
    const i = which % out.length;
    out.splice(i + 1 + (where % (out.length - i)), 0, out[i]!);
  }
  return out;
}

const asSdk = (record: KinesisRecord): _Record => ({
  SequenceNumber: record.sequenceNumber,
  PartitionKey: record.partitionKey,
  Data: new Uint8Array(record.data),
  ApproximateArrivalTimestamp: new Date(1_732_183_200_000),
});

const asLambda = (record: KinesisRecord) => ({
  eventID: `${record.shardId}:${record.sequenceNumber}`,
  eventSourceARN: `arn:aws:kinesis:eu-west-1:123456789012:stream/${STREAM}`,
  kinesis: {
    partitionKey: record.partitionKey,
    sequenceNumber: record.sequenceNumber,
    data: record.data.toString('base64'),
    approximateArrivalTimestamp: 1_732_183_200.5,
  },
});

/** A consumer whose state is the last value applied per key; checks that it never goes back in time. */
function consume(
  records: KinesisRecord[],
  compare: PositionComparator,
  lambdaShape: boolean[],
  view: (record: DecodedRecord) => DecodedRecord = (record) => record,
): Map<string, string> {
  const tracker = new KeyStateTracker({ compare });
  const state = new Map<string, string>();
  const lastApplied = new Map<string, DecodedRecord>();
  records.forEach((record, i) => {
    const decoded = lambdaShape[i % Math.max(1, lambdaShape.length)]
      ? decodeRecords(asLambda(record))
      : decodeRecords(asSdk(record), record.shardId, STREAM);
    for (const user of decoded.map(view)) {
      tracker.offer(user, (r) => {
        const previous = lastApplied.get(r.partitionKey);
        // Without forceOverwrite a key's state only ever moves forward.
        if (previous && !isForceOverwrite(r))
          expect(compare(r.position, previous.position)).toBeGreaterThan(0);
        lastApplied.set(r.partitionKey, r);
        state.set(r.partitionKey, r.payload.toString('hex'));
      });
    }
  });
  return state;
}

/** Reading every record of the stream in order: each key's last live value. */
function inOrder(history: History): Map<string, string> {
  const state = new Map<string, string>();
  for (const line of history.lines) {
    const bytes =
      line.encoding === 'utf8' ? Buffer.from(line.data, 'utf8') : Buffer.from(line.data, 'base64');
    state.set(line.partitionKey, bytes.toString('hex'));
  }
  return state;
}

const bigSeq = fc.bigInt({ min: 0n, max: SEQ_SPACE - 1n });

const scenarioArb = (annotations: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<Scenario> =>
  fc.record({
    initialShards: fc.integer({ min: 1, max: 3 }),
    bases: fc.array(bigSeq, { minLength: 3, maxLength: 3 }),
    ops: fc.array(
      fc.oneof(
        {
          weight: 6,
          arbitrary: fc.record({
            kind: fc.constant('write' as const),
            key: fc.nat(),
            extra: fc.array(fc.nat(), { maxLength: 3 }),
            step: fc.bigInt({ min: 1n, max: 2n ** 64n }),
          }),
        },
        {
          weight: 1,
          arbitrary: fc.record({
            kind: fc.constant('split' as const),
            shard: fc.nat(),
            assign: fc.array(fc.boolean(), { minLength: KEYS.length, maxLength: KEYS.length }),
            bases: fc.tuple(bigSeq, bigSeq),
          }),
        },
        {
          weight: 1,
          arbitrary: fc.record({
            kind: fc.constant('merge' as const),
            a: fc.nat(),
            b: fc.nat(),
            base: bigSeq,
          }),
        },
      ),
      { maxLength: 40 },
    ),
    replays: fc.array(
      fc.record({
        from: fc.nat(),
        length: fc.nat({ max: 60 }),
        keep: fc.func(fc.boolean()),
        annotations,
      }),
      { maxLength: 4 },
    ),
    schedule: fc.array(fc.nat(), { maxLength: 50 }),
    redeliveries: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 5 }),
    lambdaShape: fc.array(fc.boolean(), { minLength: 1, maxLength: 7 }),
  });

const withoutForce = fc.constantFrom<Record<string, unknown>>(
  {},
  { reason: 'backfill' },
  { forceOverwrite: false },
);

function converges(
  scenario: Scenario,
  name: Naming,
  comparator: (lineage: ShardLineage) => PositionComparator,
  view?: (record: DecodedRecord) => DecodedRecord,
) {
  const history = simulate(scenario, name);
  const replays = scenario.replays.flatMap((replay, i) => replayQueues(history, replay, i));
  const seen = consume(
    deliveries(history, replays, scenario),
    comparator(history.lineage),
    scenario.lambdaShape,
    view,
  );
  expect(seen).toEqual(inOrder(history));
}

describe('consistency rule: live records, replays, splits and merges', () => {
  it('with Kinesis shard numbering and the default comparator, the state converges to reading the stream in order', () => {
    fc.assert(
      fc.property(scenarioArb(withoutForce), (scenario) =>
        converges(scenario, kinesisNaming, () => comparePositions),
      ),
      { numRuns: 300 },
    );
  });

  it('with the shard lineage given, the state converges too, even when shard numbers do not follow creation order', () => {
    fc.assert(
      fc.property(scenarioArb(withoutForce), fc.boolean(), (scenario, reversed) =>
        converges(scenario, reversed ? reversedNaming : kinesisNaming, (lineage) =>
          createPositionComparator(lineage),
        ),
      ),
      { numRuns: 300 },
    );
  });

  it('in any order at all (no per-shard or per-key order), the final state still converges', () => {
    fc.assert(
      fc.property(scenarioArb(withoutForce), fc.array(fc.nat()), (scenario, shuffle) => {
        const history = simulate(scenario, kinesisNaming);
        const records = [...history.shards.values()].flat();
        records.push(...scenario.replays.flatMap((replay, i) => replayQueues(history, replay, i)).flat());
        const keys = records.map((_, i) => shuffle[i % Math.max(1, shuffle.length)]! * 1000 + i);
        const order = records.map((record, i) => [keys[i]!, record] as const).sort(([a], [b]) => a - b);
        const seen = consume(
          order.map(([, record]) => record),
          comparePositions,
          scenario.lambdaShape,
        );
        expect(seen).toEqual(inOrder(history));
      }),
      { numRuns: 200 },
    );
  });

  it('the test has teeth: a consumer that compares sequence numbers across shards does not converge', () => {
    const naive: PositionComparator = (a, b) => {
      const x = BigInt(a.sequenceNumber);
      const y = BigInt(b.sequenceNumber);
      return x < y ? -1 : x > y ? 1 : a.subSequenceNumber - b.subSequenceNumber;
    };
    const result = fc.check(
      fc.property(scenarioArb(withoutForce), (scenario) => converges(scenario, kinesisNaming, () => naive)),
      { numRuns: 300 },
    );
    expect(result.failed).toBe(true);
  });

  it('the test has teeth: without lineage, backwards shard numbers do not converge', () => {
    const result = fc.check(
      fc.property(scenarioArb(withoutForce), (scenario) =>
        converges(scenario, reversedNaming, () => comparePositions),
      ),
      { numRuns: 300 },
    );
    expect(result.failed).toBe(true);
  });

  it('the test has teeth: a consumer that orders replayed records by where it received them does not converge', () => {
    const result = fc.check(
      fc.property(scenarioArb(withoutForce), (scenario) =>
        converges(
          scenario,
          kinesisNaming,
          () => comparePositions,
          (record) => ({ ...record, position: record.received }),
        ),
      ),
      { numRuns: 300 },
    );
    expect(result.failed).toBe(true);
  });

  it('forceOverwrite replays are applied even over newer state, so a key ends with its last forced value', () => {
    fc.assert(
      fc.property(scenarioArb(fc.constant({ forceOverwrite: true })), (scenario) => {
        const history = simulate(scenario, kinesisNaming);
        const forced = scenario.replays.flatMap((replay, i) => replayQueues(history, replay, i)).flat();
        // Live first, then the forced replay: every key it touches ends with its last forced value.
        const seen = consume([...[...history.shards.values()].flat(), ...forced], comparePositions, [false]);
        const expected = inOrder(history);
        for (const record of forced) {
          const [user] = decodeRecords(asSdk(record), record.shardId, STREAM);
          expected.set(user!.partitionKey, user!.payload.toString('hex'));
        }
        expect(seen).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });
});
