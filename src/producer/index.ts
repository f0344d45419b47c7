/**
 * The producer library: put records into a Kinesis stream without ever dropping one. Batches into
 * PutRecords, retries what Kinesis refuses while keeping each key's order, adapts its rate to the
 * stream, bounds its memory (put() waits when the buffer is full), and optionally KPL-aggregates.
 * The same sender writes reservoir's replays. Published on its own as kinesis-reservoir-producer
 * (packages/producer/, built by scripts/build-package.cjs) and as the main package's
 * kinesis-reservoir/producer.
 *
 * Its one dependency is aws-kinesis-agg; `@aws-sdk/client-kinesis` is a peer, used only when the
 * producer builds the client or the PutRecords command itself.
 *
 *     const producer = createProducer({ streamName: 'orders', region: 'eu-west-1' });
 *     await Promise.all(orders.map((o) => producer.put({ partitionKey: o.id, data: JSON.stringify(o) })));
 *     await producer.close();
 */
export {
  createProducer,
  type Acknowledgement,
  type BatchMetrics,
  type Producer,
  type ProducerOptions,
  type ProducerRecord,
  type ProducerTotals,
} from './producer';
export { InvalidRecordError, ProducerClosedError, RecordDeliveryError } from './errors';
export type { Clock } from './batch-sender';
export type {
  ClientSettings,
  KinesisClientLike,
  PutRecordsInput,
  PutRecordsOutput,
  StreamTarget,
} from './kinesis-client';
