/**
 * Errors the state machines route on. Lambda reports `name` as the error type, and the ASL's
 * Retry/Catch match it verbatim in ErrorEquals, so names are part of the contract with
 * statemachines/*.asl.yml. Each class sets its name as a string literal: a bundler may rename a
 * class (esbuild does when two bundled modules declare the same name, e.g. ajv's
 * ValidationError), and a literal survives that where `new.target.name` would not.
 */
export abstract class ReservoirError extends Error {
  abstract override readonly name: string;
  /** Retried by the state machine (and by in-process loops) when true. */
  abstract readonly transient: boolean;
}

/** Kinesis answered ProvisionedThroughputExceeded / LimitExceeded after in-process backoff. */
export class ThrottledError extends ReservoirError {
  override readonly name = 'ThrottledError';
  readonly transient = true;
}

/** A shard iterator is older than five minutes; the reader asks for a fresh one. */
export class ExpiredIteratorError extends ReservoirError {
  override readonly name = 'ExpiredIteratorError';
  readonly transient = true;
}

/**
 * SubscribeToShard answered ResourceInUseException: this consumer's previous subscription to the
 * shard is still open (AWS allows one per consumer and shard, and a new one 5 seconds after).
 */
export class SubscriptionInUseError extends ReservoirError {
  override readonly name = 'SubscriptionInUseError';
  readonly transient = true;
}

/** S3 or Kinesis answered 5xx (or a network fault) after the SDK's own retries. */
export class ServiceUnavailableError extends ReservoirError {
  override readonly name = 'ServiceUnavailableError';
  readonly transient = true;
}

/** Another execution moved the checkpoint first (S3 answered 412 to a conditional write). */
export class CheckpointConflictError extends ReservoirError {
  override readonly name = 'CheckpointConflictError';
  readonly transient = false;
}

/** Records expired from the stream before they were archived. Never skipped silently. */
export class DataGapError extends ReservoirError {
  override readonly name = 'DataGapError';
  readonly transient = false;
  constructor(
    readonly stream: string,
    readonly shardId: string,
    /** The last archived sequence number, or null when nothing of the shard was archived yet. */
    readonly lastArchivedSequenceNumber: string | null,
    /** The expected record that is gone: the last archived one, or the first of a pending block. */
    readonly expectedSequenceNumber: string,
    /** The oldest record still in the shard past the gap, or null when none is left. */
    readonly firstAvailableSequenceNumber: string | null,
  ) {
    const from = lastArchivedSequenceNumber
      ? `after sequence number ${lastArchivedSequenceNumber}`
      : `from sequence number ${expectedSequenceNumber}`;
    const to = firstAvailableSequenceNumber ? ` and before ${firstAvailableSequenceNumber}` : '';
    super(
      `Data gap on stream ${stream} shard ${shardId}: records ${from}${to} expired from the stream ` +
        'before they were archived (the trim horizon passed the checkpoint)',
    );
  }
}

/**
 * AWS refused a request for a reason that retrying cannot fix: access denied, an operation the
 * endpoint does not implement (501), a malformed request. Goes straight to the state machine's
 * Catch instead of being retried for minutes.
 */
export class AwsRequestRejectedError extends ReservoirError {
  override readonly name = 'AwsRequestRejectedError';
  readonly transient = false;
  constructor(
    message: string,
    /** The service's error code, e.g. AccessDenied or NotImplemented. */
    readonly awsErrorCode: string,
    readonly httpStatusCode: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A request or configuration is invalid; retrying cannot help. */
export class ValidationError extends ReservoirError {
  override readonly name = 'ValidationError';
  readonly transient = false;
}

/** A configuration variable is missing or malformed. */
export class ConfigError extends ReservoirError {
  override readonly name = 'ConfigError';
  readonly transient = false;
}

/** The archive object store holds something the archiver did not expect (e.g. a corrupt checkpoint). */
export class CorruptStateError extends ReservoirError {
  override readonly name = 'CorruptStateError';
  readonly transient = false;
}

/** A stream named for archiving does not exist. */
export class StreamNotFoundError extends ReservoirError {
  override readonly name = 'StreamNotFoundError';
  readonly transient = false;
}

/** A record could not be put into the target stream; names its source position. Nothing is dropped silently. */
export class ReplayDeliveryError extends ReservoirError {
  override readonly name = 'ReplayDeliveryError';
  readonly transient = false;
}

/**
 * `reservoir replay --stop` asked the replay to stop (its stop marker exists): the work item saved
 * its resume point and ends; running the same replay id again resumes it.
 */
export class ReplayStoppedError extends ReservoirError {
  override readonly name = 'ReplayStoppedError';
  readonly transient = false;
}

/** A replayed record (with its envelope) is larger than the target stream accepts. */
export class RecordTooLargeError extends ReservoirError {
  override readonly name = 'RecordTooLargeError';
  readonly transient = false;
}
