import {
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  RegisterStreamConsumerCommand,
  SubscribeToShardCommand,
  type ConsumerDescription,
  type KinesisClient,
  type StartingPosition,
  type SubscribeToShardEvent,
} from '@aws-sdk/client-kinesis';
import { ServiceUnavailableError } from '../core/errors';
import type { IteratorStart, ShardSubscriber, SubscriptionEvent } from '../core/ports';
import { translateAwsError, translateSubscriptionError } from './errors';
import { toKinesisRecord } from './kinesis-adapter';

export interface KinesisShardSubscriberOptions {
  /** How long ensureConsumer waits for a consumer to become ACTIVE (AWS takes seconds). Default 2 minutes. */
  activationTimeoutMs?: number;
  /** Its first pause between checks, doubling up to 2 s (DescribeStreamConsumer allows 20 calls/s per stream). */
  activationPollMs?: number;
}

const MAX_POLL_MS = 2_000;

function startingPosition(start: IteratorStart): StartingPosition {
  switch (start.type) {
    case 'TRIM_HORIZON':
      return { Type: 'TRIM_HORIZON' };
    case 'AT_SEQUENCE_NUMBER':
    case 'AFTER_SEQUENCE_NUMBER':
      return { Type: start.type, SequenceNumber: start.sequenceNumber };
    case 'AT_TIMESTAMP':
      return { Type: 'AT_TIMESTAMP', Timestamp: new Date(start.timestamp) };
  }
}

function toSubscriptionEvent(event: SubscribeToShardEvent): SubscriptionEvent {
  return {
    records: (event.Records ?? []).map(toKinesisRecord),
    continuationSequenceNumber: event.ContinuationSequenceNumber ?? null,
    millisBehindLatest: event.MillisBehindLatest ?? 0,
    ...(event.ChildShards ? { childShardIds: event.ChildShards.map((child) => child.ShardId!) } : {}),
  };
}

/**
 * Enhanced fan-out with the SDK: give it a client with an HTTP/2 handler
 * (kinesisSubscriptionClient), which SubscribeToShard needs.
 */
export class KinesisShardSubscriber implements ShardSubscriber {
  private readonly activationTimeoutMs: number;
  private readonly activationPollMs: number;

  constructor(
    private readonly client: KinesisClient,
    options: KinesisShardSubscriberOptions = {},
  ) {
    this.activationTimeoutMs = options.activationTimeoutMs ?? 120_000;
    this.activationPollMs = options.activationPollMs ?? 100;
  }

  async ensureConsumer(stream: string, consumerName: string): Promise<string> {
    const streamArn = await this.streamArn(stream);
    const what = `stream consumer ${consumerName} of ${stream}`;
    const deadline = Date.now() + this.activationTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      const consumer = await this.describeConsumer(streamArn, consumerName, what);
      if (consumer?.ConsumerStatus === 'ACTIVE') return consumer.ConsumerARN!;
      // Missing: register it. A DELETING one of this name must be gone first (ResourceInUseException).
      if (!consumer) await this.registerConsumer(streamArn, consumerName, what);
      if (Date.now() >= deadline) {
        throw new ServiceUnavailableError(
          `${what} is ${consumer?.ConsumerStatus ?? 'CREATING'}, not ACTIVE after ${this.activationTimeoutMs} ms`,
        );
      }
      const pause = Math.min(MAX_POLL_MS, this.activationPollMs * 2 ** attempt, deadline - Date.now());
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, pause)));
    }
  }

  async *subscribe(
    consumerArn: string,
    shardId: string,
    start: IteratorStart,
    signal: AbortSignal,
  ): AsyncIterable<SubscriptionEvent> {
    const what = `SubscribeToShard ${consumerArn} ${shardId}`;
    if (signal.aborted) return;
    // Also ends the HTTP/2 stream when the caller stops iterating early.
    const request = new AbortController();
    const abort = () => request.abort(signal.reason);
    signal.addEventListener('abort', abort, { once: true });
    try {
      let events: AsyncIterable<Record<string, unknown>> | undefined;
      try {
        const output = await this.client.send(
          new SubscribeToShardCommand({
            ConsumerARN: consumerArn,
            ShardId: shardId,
            StartingPosition: startingPosition(start),
          }),
          { abortSignal: request.signal },
        );
        events = output.EventStream as AsyncIterable<Record<string, unknown>> | undefined;
      } catch (error) {
        if (signal.aborted) return;
        throw translateSubscriptionError(error, what);
      }
      if (!events) return;
      try {
        for await (const event of events) {
          if (signal.aborted) return;
          if (event.SubscribeToShardEvent) {
            yield toSubscriptionEvent(event.SubscribeToShardEvent as SubscribeToShardEvent);
          } else if (event.$unknown === undefined) {
            // A member of the union's exceptions (the SDK throws those; should one be handed over).
            throw Object.values(event)[0];
          }
        }
      } catch (error) {
        if (signal.aborted) return;
        throw translateSubscriptionError(error, what);
      }
    } finally {
      signal.removeEventListener('abort', abort);
      request.abort();
    }
  }

  private async streamArn(stream: string): Promise<string> {
    const what = `DescribeStreamSummary ${stream}`;
    const output = await this.client
      .send(new DescribeStreamSummaryCommand({ StreamName: stream }))
      .catch((error: unknown) => Promise.reject(translateAwsError(error, what)));
    const arn = output.StreamDescriptionSummary?.StreamARN;
    if (!arn) throw new Error(`${what} returned no StreamARN`);
    return arn;
  }

  /** null when the stream has no consumer of this name. */
  private async describeConsumer(
    streamArn: string,
    consumerName: string,
    what: string,
  ): Promise<ConsumerDescription | null> {
    try {
      const output = await this.client.send(
        new DescribeStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: consumerName }),
      );
      return output.ConsumerDescription ?? null;
    } catch (error) {
      if ((error as Error)?.name === 'ResourceNotFoundException') return null;
      throw translateAwsError(error, `DescribeStreamConsumer ${what}`);
    }
  }

  private async registerConsumer(streamArn: string, consumerName: string, what: string): Promise<void> {
    try {
      await this.client.send(
        new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: consumerName }),
      );
    } catch (error) {
      // Registered meanwhile (another execution), or one of this name is still DELETING: wait.
      if ((error as Error)?.name === 'ResourceInUseException') return;
      throw translateAwsError(error, `RegisterStreamConsumer ${what}`);
    }
  }
}
