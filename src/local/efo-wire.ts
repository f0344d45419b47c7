/**
 * What the local enhanced fan-out endpoint puts on the wire, in the shapes of Kinesis's awsJson1_1
 * protocol: JSON errors (`{"__type", "message"}` with an HTTP status), and the
 * `application/vnd.amazon.eventstream` messages of a SubscribeToShard response (an
 * `initial-response` event, SubscribeToShardEvent events, and exceptions as stream messages).
 */
import { randomUUID } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';

export const JSON_1_1 = 'application/x-amz-json-1.1';
export const EVENT_STREAM = 'application/vnd.amazon.eventstream';

const codec = new EventStreamCodec(toUtf8, fromUtf8);

/** A Kinesis error answer: the SDK raises it as the exception class named by `type`. */
export class KinesisErrorAnswer extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** Any failure as an answer: kinesalite's own (an SDK error with its status) as it gave it, else InternalFailure. */
export function asAnswer(error: unknown): KinesisErrorAnswer {
  if (error instanceof KinesisErrorAnswer) return error;
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 400 && e.name) {
    return new KinesisErrorAnswer(e.name, e.message ?? e.name, status);
  }
  return new KinesisErrorAnswer(
    'InternalFailure',
    `efo-kinesis: ${error instanceof Error ? error.message : String(error)}`,
    500,
  );
}

export interface WireRecord {
  SequenceNumber: string;
  /** Epoch seconds, with the milliseconds as a fraction (awsJson timestamps). */
  ApproximateArrivalTimestamp: number;
  /** Base64. */
  Data: string;
  PartitionKey: string;
}

export interface WireChildShard {
  ShardId: string;
  ParentShards: string[];
  HashKeyRange: { StartingHashKey: string; EndingHashKey: string };
}

export interface WireSubscribeToShardEvent {
  Records: WireRecord[];
  /** Absent on a closed shard's last event. */
  ContinuationSequenceNumber?: string;
  MillisBehindLatest: number;
  ChildShards?: WireChildShard[];
}

export function responseHeaders(contentType: string): OutgoingHttpHeaders {
  return { 'content-type': contentType, 'x-amzn-requestid': randomUUID() };
}

export function errorBody(error: KinesisErrorAnswer): Buffer {
  return Buffer.from(JSON.stringify({ __type: error.type, message: error.message }));
}

function encode(headers: Record<string, string>, body: object): Uint8Array {
  return codec.encode({
    headers: Object.fromEntries(
      Object.entries(headers).map(([name, value]) => [name, { type: 'string' as const, value }]),
    ),
    body: fromUtf8(JSON.stringify(body)),
  });
}

/** The first message of every SubscribeToShard response (the operation's non-stream output: none). */
export function initialResponse(): Uint8Array {
  return encode(
    { ':message-type': 'event', ':event-type': 'initial-response', ':content-type': 'application/json' },
    {},
  );
}

export function subscribeToShardEvent(event: WireSubscribeToShardEvent): Uint8Array {
  return encode(
    { ':message-type': 'event', ':event-type': 'SubscribeToShardEvent', ':content-type': 'application/json' },
    event,
  );
}

/** A modeled exception of the SubscribeToShardEventStream union, which ends the stream. */
export function streamException(type: string, message: string): Uint8Array {
  return encode(
    { ':message-type': 'exception', ':exception-type': type, ':content-type': 'application/json' },
    { message },
  );
}
