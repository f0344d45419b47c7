/**
 * The producer's errors. Each sets `name` as a string literal (a bundler may rename classes), so
 * callers can tell them apart by name as well as by class.
 */

/** A record Kinesis did not acknowledge and the producer will not try again: its put() rejects with this. */
export class RecordDeliveryError extends Error {
  override readonly name = 'RecordDeliveryError';
  constructor(
    message: string,
    /** The record's partition key. */
    readonly partitionKey: string,
    /** PutRecords' ErrorCode for the record, or the name of the error the request failed with. */
    readonly errorCode: string,
    /** How many times it was sent. */
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A record the producer refuses before sending: too large, a partition key or explicit hash key Kinesis would refuse. */
export class InvalidRecordError extends Error {
  override readonly name = 'InvalidRecordError';
}

/** put() after close(). */
export class ProducerClosedError extends Error {
  override readonly name = 'ProducerClosedError';
}
