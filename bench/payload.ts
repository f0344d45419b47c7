import { createHash } from 'node:crypto';
import type { ProducedRecord } from '../src/local/traffic';

// The seeds' telemetry shape (src/local/traffic.ts) with twice the sensors, so one record is
// about 1 KB, the size the goals are stated for.
const SENSORS = [
  ['temperature', 'degC'],
  ['pressure', 'bar'],
  ['spindle_rpm', 'rpm'],
  ['vibration', 'mm/s'],
  ['feed_rate', 'mm/min'],
  ['coolant_flow', 'l/min'],
  ['motor_current', 'A'],
  ['tool_wear', 'percent'],
] as const;

/** One ~1 KB machine-telemetry JSON record; values vary with `index` so blocks do not compress trivially. */
export function benchRecord(index: number, now: number): ProducedRecord {
  const host = `spark-${(index % 5) + 1}`;
  const machine = `press-${String(index % 23).padStart(2, '0')}`;
  const attributes = Object.fromEntries(
    SENSORS.map(([name, unit], i) => [
      name,
      {
        name,
        description: `${name.replace('_', ' ')} sensor`,
        unit,
        format: 'float',
        value: Math.round(((index * (i + 3) * 7919) % 99_991) * 10) / 100,
      },
    ]),
  );
  // A per-event id, as most producers attach: 32 hex digits that gzip cannot predict.
  const eventId = createHash('md5').update(String(index)).digest('hex');
  const body = {
    type: 'record',
    host,
    seq: index,
    eventId,
    data: { machine, time: new Date(now).toISOString(), attributes },
  };
  // 1,000 keys: PutRecords batches (one record per key, src/local/traffic.ts) fill to 500 entries.
  return { partitionKey: `${host}/${machine}/${index % 1000}`, data: Buffer.from(JSON.stringify(body)) };
}

/**
 * A small telemetry record whose data plus partition key weigh exactly `bytes`, the size a shard's
 * read limit counts. The padding is hex digests, so blocks do not compress trivially.
 */
export function sizedBenchRecord(index: number, now: number, bytes: number): ProducedRecord {
  const partitionKey = `sensor-${index % 1000}`;
  const body = {
    type: 'record',
    seq: index,
    eventId: createHash('md5').update(String(index)).digest('hex'),
    time: new Date(now).toISOString(),
    pad: '',
  };
  const missing = bytes - Buffer.byteLength(JSON.stringify(body)) - Buffer.byteLength(partitionKey);
  if (missing < 0) throw new Error(`a bench record needs at least ${bytes - missing} bytes, not ${bytes}`);
  let pad = '';
  for (let i = 0; pad.length < missing; i++) pad += createHash('md5').update(`${index}/${i}`).digest('hex');
  body.pad = pad.slice(0, missing);
  return { partitionKey, data: Buffer.from(JSON.stringify(body)) };
}
