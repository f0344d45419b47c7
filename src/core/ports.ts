import type { LifecycleRuleJson } from './retention';
import type { RecordLine } from './record-line';

/**
 * What the archiving logic needs from Kinesis and S3, as plain interfaces. The adapters in
 * src/aws implement them with the SDK; tests may implement them in memory.
 */
export interface KinesisRecord {
  sequenceNumber: string;
  partitionKey: string;
  /** Epoch milliseconds (ApproximateArrivalTimestamp). */
  arrivalTimestamp: number;
  data: Uint8Array;
}

export type IteratorStart =
  | { type: 'TRIM_HORIZON' }
  | { type: 'AT_SEQUENCE_NUMBER' | 'AFTER_SEQUENCE_NUMBER'; sequenceNumber: string }
  /** The first record that arrived at or after `timestamp` (epoch ms). */
  | { type: 'AT_TIMESTAMP'; timestamp: number };

export interface RecordBatch {
  records: KinesisRecord[];
  /** null once a closed shard has been read to its end. */
  nextIterator: string | null;
  millisBehindLatest: number;
}

export interface ShardReader {
  getIterator(stream: string, shardId: string, start: IteratorStart): Promise<string>;
  /** Throws ThrottledError, ExpiredIteratorError or ServiceUnavailableError. */
  getRecords(iterator: string, limit: number): Promise<RecordBatch>;
}

/** One SubscribeToShardEvent of an enhanced fan-out subscription. */
export interface SubscriptionEvent {
  records: KinesisRecord[];
  /** Where a new subscription continues; null once a closed shard has been read to its end. */
  continuationSequenceNumber: string | null;
  millisBehindLatest: number;
  /** On a closed shard's last event: the shards that took over its hash range. */
  childShardIds?: string[];
}

/** Enhanced fan-out: a registered stream consumer reads each shard through its own 2 MB/s pipe. */
export interface ShardSubscriber {
  /** The stream consumer of this name (RegisterStreamConsumer when missing), once ACTIVE: its ARN. */
  ensureConsumer(stream: string, consumerName: string): Promise<string>;
  /**
   * One SubscribeToShard call: the events it pushes until the subscription ends (AWS closes it
   * after 5 minutes), the shard's end, or `signal` aborts. Throws ThrottledError
   * (LimitExceededException), SubscriptionInUseError (ResourceInUseException: a subscription of
   * this consumer to this shard is still open), ServiceUnavailableError.
   */
  subscribe(
    consumerArn: string,
    shardId: string,
    start: IteratorStart,
    signal: AbortSignal,
  ): AsyncIterable<SubscriptionEvent>;
}

export type PutResult = { ok: true } | { ok: false; errorCode: string; errorMessage: string };

export interface RecordWriter {
  /** PutRecords: one result per entry, in order. Throws ThrottledError when the whole request is refused. */
  putRecords(stream: string, entries: { partitionKey: string; data: Uint8Array }[]): Promise<PutResult[]>;
  /** Throws StreamNotFoundError when the stream does not exist. */
  assertStreamExists(stream: string): Promise<void>;
}

export interface ShardDescription {
  shardId: string;
  parentShardId?: string;
  adjacentParentShardId?: string;
  startingSequenceNumber: string;
  /** Present once the shard is closed (split or merged). */
  endingSequenceNumber?: string;
}

export interface StreamSummary {
  retentionHours: number;
  /**
   * Epoch ms of StreamCreationTimestamp: a stream deleted and created again under the same name
   * (and so the same ARN) is told apart by it.
   */
  createdAt: number;
  /** StreamModeDetails.StreamMode; absent where Kinesis does not say (kinesalite: provisioned). */
  capacityMode?: 'provisioned' | 'on-demand';
  /** MaxRecordSizeInKiB in bytes: the largest record the stream takes (absent: not said, 1 MiB). */
  maxRecordBytes?: number;
}

export interface StreamCatalog {
  listStreamNames(): Promise<string[]>;
  listTags(stream: string): Promise<Record<string, string>>;
  listShards(stream: string): Promise<ShardDescription[]>;
  /** DescribeStreamSummary: the retention period, and when this stream (of this name) was created. */
  describeStream(stream: string): Promise<StreamSummary>;
}

export interface StoredJson<T> {
  value: T;
  etag: string;
}

export interface ObjectStore {
  getJson<T>(key: string): Promise<StoredJson<T> | null>;
  /**
   * Conditional put: expectedEtag null means "must not exist yet". Throws CheckpointConflictError
   * on 412. `tags` become the object's tags (replacing any it had), e.g. DRAINED_CHECKPOINT_TAGS.
   */
  putJsonIfMatch(
    key: string,
    value: unknown,
    expectedEtag: string | null,
    tags?: Readonly<Record<string, string>>,
  ): Promise<string>;
  putJson(key: string, value: unknown): Promise<void>;
  /** `metadata` becomes the object's user metadata (x-amz-meta-*), e.g. core/object-metadata.ts. */
  putObject(
    key: string,
    body: Uint8Array,
    contentType: string,
    contentEncoding?: string,
    metadata?: Readonly<Record<string, string>>,
  ): Promise<void>;
  getObject(key: string): Promise<Uint8Array | null>;
  /** The object's user metadata (HeadObject), names lower-cased as S3 returns them; null when it is gone. */
  getMetadata(key: string): Promise<Record<string, string> | null>;
  exists(key: string): Promise<boolean>;
  listKeys(prefix: string): Promise<string[]>;
  /** The first key under the prefix in S3's (lexicographic) order, with one request; null when none. */
  firstKey(prefix: string): Promise<string | null>;
  listObjects(prefix: string): Promise<{ key: string; bytes: number }[]>;
  deleteKeys(keys: string[]): Promise<void>;
  /**
   * Sets the tags of existing objects (PutObjectTagging: replaces any tags they had). A key that is
   * gone (404) is skipped: there is nothing left to tag.
   */
  tagObjects(keys: readonly string[], tags: Readonly<Record<string, string>>): Promise<void>;
}

export interface BucketLifecycleConfiguration {
  rules: LifecycleRuleJson[];
  /** Kept as the bucket has it when rules are written back (S3's default otherwise). */
  transitionDefaultMinimumObjectSize?: string;
}

/** The archive bucket's lifecycle configuration. */
export interface BucketLifecycle {
  /** null when the bucket has no lifecycle configuration. */
  getLifecycle(): Promise<BucketLifecycleConfiguration | null>;
  /** Replaces the whole configuration; no rules at all deletes it (S3 keeps no empty one). */
  putLifecycle(configuration: BucketLifecycleConfiguration): Promise<void>;
}

/**
 * Reads the archive's Parquet files (DESIGN.md "Reading converted hours"). Given to the workers
 * that need it only, so DuckDB (a native addon) goes into those functions' bundles alone.
 */
export interface ParquetRecordSource {
  /**
   * The record lines of a Parquet object (one a manifest lists), in the file's order: only
   * `shardId`'s rows when given, skipping the first `offset` of them; in batches.
   */
  read(key: string, options?: { shardId?: string; offset?: number }): AsyncIterable<RecordLine[]>;
}
