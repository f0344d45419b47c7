/**
 * The consumer library: decode live and replayed Kinesis records and apply the consistency rule
 * (DESIGN.md "Replayed records and the consistency rule"). Published on its own as
 * kinesis-reservoir-consumer (packages/consumer/, built by scripts/build-package.cjs) and as
 * the main package's kinesis-reservoir/consumer.
 *
 * No AWS SDK: it takes the records your Lambda handler or GetRecords loop already has.
 *
 *     const tracker = new KeyStateTracker();
 *     for (const record of event.Records.flatMap((r) => decodeRecords(r))) {
 *       tracker.offer(record, (r) => state.set(r.partitionKey, JSON.parse(r.payload.toString())));
 *     }
 */
export {
  decodeRecord,
  decodeRecords,
  type DecodedRecord,
  type GetRecordsRecord,
  type KinesisInputRecord,
  type LambdaKinesisRecord,
} from './decode';
export {
  comparePositions,
  createPositionComparator,
  IncomparablePositionsError,
  lineageFromShards,
  shardIndex,
  type PositionComparator,
  type ShardLineage,
  type SourcePosition,
} from './position';
export {
  AsyncKeyStateTracker,
  isForceOverwrite,
  KeyStateTracker,
  MapPositionStore,
  type AsyncPositionStore,
  type PositionStore,
  type TrackerOptions,
} from './tracker';
export {
  decodeEnvelope,
  encodeEnvelope,
  envelopePayload,
  innermostEnvelope,
  nestedEnvelope,
  type EnvelopeEncoding,
  type EnvelopeHeader,
  type EnvelopeSource,
  type JsonValue,
  type ReplayEnvelope,
} from '../core/envelope';
