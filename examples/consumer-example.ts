/**
 * The consumer library on its own, no AWS: live records of a stream whose shard splits, a replay
 * of the older records as envelopes, everything delivered in a shuffled order — and the state
 * still ends where reading the stream in order would leave it.
 *
 *     npx tsx examples/consumer-example.ts [seed]
 */
import {
  decodeRecords,
  encodeEnvelope,
  KeyStateTracker,
  type DecodedRecord,
  type LambdaKinesisRecord,
} from '../src/consumer';
import { toRecordLine, type UserRecord } from '../src/core/record-line';

const STREAM = 'telemetry';
const START = Date.UTC(2026, 10, 21, 22, 0, 0);

/** A record as a Lambda Kinesis event would deliver it. */
function lambdaRecord(
  shardId: string,
  sequenceNumber: string,
  partitionKey: string,
  data: Buffer,
  at: number,
) {
  return {
    eventID: `${shardId}:${sequenceNumber}`,
    eventSourceARN: `arn:aws:kinesis:eu-west-1:123456789012:stream/${STREAM}`,
    kinesis: {
      partitionKey,
      sequenceNumber,
      data: data.toString('base64'),
      approximateArrivalTimestamp: at / 1000,
    },
  } satisfies LambdaKinesisRecord;
}

// Live history: shardId-000000000000 holds both machines until it splits into 1 and 2. The
// children's sequence numbers are smaller than the parent's: only the lineage orders them.
const history: UserRecord[] = [
  ['shardId-000000000000', '49650000000000000000000000000000000000000000000000000010', 'press-01', 71.5],
  ['shardId-000000000000', '49650000000000000000000000000000000000000000000000000020', 'press-02', 64.0],
  ['shardId-000000000000', '49650000000000000000000000000000000000000000000000000030', 'press-01', 72.25],
  ['shardId-000000000001', '49640000000000000000000000000000000000000000000000000005', 'press-01', 73.0],
  ['shardId-000000000002', '49640000000000000000000000000000000000000000000000000007', 'press-02', 66.5],
  ['shardId-000000000002', '49640000000000000000000000000000000000000000000000000009', 'press-02', 67.75],
].map(([shardId, sequenceNumber, machine, temperature], i) => ({
  stream: STREAM,
  shardId: shardId as string,
  sequenceNumber: sequenceNumber as string,
  subSequenceNumber: 0,
  partitionKey: machine as string,
  arrivalTimestamp: START + i * 60_000,
  data: Buffer.from(JSON.stringify({ machine, temperature })),
}));

const live = history.map((r) =>
  lambdaRecord(r.shardId, r.sequenceNumber, r.partitionKey, Buffer.from(r.data), r.arrivalTimestamp),
);

// A replay of the first four records (from the archive), put back into the same stream as
// envelopes with the original partition keys: they land in the children, at new positions.
const replayed = history.slice(0, 4).map((r, i) => {
  const target = r.partitionKey === 'press-01' ? 'shardId-000000000001' : 'shardId-000000000002';
  const envelope = encodeEnvelope(toRecordLine(r), 'replay-2026-11-21', { reason: 'rebuild cache' });
  return lambdaRecord(
    target,
    `4964000000000000000000000000000000000000000000000000010${i}`,
    r.partitionKey,
    envelope,
    START + 3_600_000,
  );
});

// A small seeded generator, so a run can be repeated: `npx tsx examples/consumer-example.ts 7`.
let seed = Number(process.argv[2] ?? Date.now()) >>> 0;
const random = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const shuffled = [...live, ...replayed]
  .map((record) => ({ record, key: random() }))
  .sort((a, b) => a.key - b.key)
  .map(({ record }) => record);

// The consumer: state = latest reading per machine, guarded by the tracker.
const tracker = new KeyStateTracker();
const state = new Map<string, unknown>();
const describe = (r: DecodedRecord) =>
  `${r.replayed ? 'replayed' : 'live    '} ${r.partitionKey} ${r.payload.toString()} from ${r.position.shardId}`;

console.log(`seed ${process.argv[2] ?? '(time)'}: ${shuffled.length} records in shuffled order`);
for (const record of shuffled) {
  for (const decoded of decodeRecords(record)) {
    const applied = tracker.offer(decoded, (r) =>
      state.set(r.partitionKey, JSON.parse(r.payload.toString())),
    );
    console.log(`${applied ? 'applied' : 'skipped'}  ${describe(decoded)}`);
  }
}

// Reading every record of the stream in order: the last live value of each key.
const inOrder = new Map(history.map((r) => [r.partitionKey, JSON.parse(Buffer.from(r.data).toString())]));
console.log('\nconverged state:');
for (const [machine, value] of [...state].sort(([a], [b]) => a.localeCompare(b))) {
  console.log(`  ${machine}: ${JSON.stringify(value)}`);
}
const same = JSON.stringify([...state].sort()) === JSON.stringify([...inOrder].sort());
console.log(
  same ? '\nsame as reading the stream in order ✓' : '\nDIFFERENT from reading the stream in order ✗',
);
process.exitCode = same ? 0 : 1;
