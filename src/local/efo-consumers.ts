/**
 * The stream consumers of the local enhanced fan-out endpoint (kinesalite has none), in memory:
 * RegisterStreamConsumer, DescribeStreamConsumer, ListStreamConsumers, DeregisterStreamConsumer,
 * with AWS's request and answer shapes, ARNs, statuses and documented limits.
 *
 * A consumer is CREATING for `activationMs` after it is registered, then ACTIVE; a deregistered
 * one is DELETING for as long, then gone. Streams are addressed by StreamARN, checked against
 * kinesalite's DescribeStreamSummary; a stream deleted and created again under its name loses its
 * consumers, as on AWS.
 */
import { KinesisErrorAnswer } from './efo-wire';

export type ConsumerStatus = 'CREATING' | 'ACTIVE' | 'DELETING';

export interface Consumer {
  name: string;
  arn: string;
  streamArn: string;
  streamName: string;
  /** Epoch ms of the stream's creation when the consumer was registered. */
  streamCreatedAt: number;
  /** Epoch ms. */
  createdAt: number;
  status: ConsumerStatus;
}

export interface StreamInfo {
  name: string;
  arn: string;
  /** Epoch ms (StreamCreationTimestamp). */
  createdAt: number;
}

/** Documented limits: 20 consumers per stream, 5 in CREATING at a time per account. */
const MAX_CONSUMERS_PER_STREAM = 20;
const MAX_CREATING = 5;
const STREAM_ARN = /^arn:aws[^:]*:kinesis:[^:]*:(\d{12}):stream\/(\S+)$/;
const CONSUMER_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;
const DEFAULT_MAX_RESULTS = 100;

type Input = Record<string, unknown>;

function validationError(field: string, value: unknown, constraint: string): KinesisErrorAnswer {
  return new KinesisErrorAnswer(
    'ValidationException',
    `1 validation error detected: Value '${String(value)}' at '${field}' failed to satisfy constraint: ${constraint}`,
  );
}

function stringField(input: Input, field: string, required: boolean): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) {
    if (required) throw validationError(field, value, 'Member must not be null');
    return undefined;
  }
  if (typeof value !== 'string')
    throw new KinesisErrorAnswer('SerializationException', `${field}: not a string`);
  return value;
}

function consumerName(input: Input, required: boolean): string | undefined {
  const name = stringField(input, 'ConsumerName', required);
  if (name !== undefined && !CONSUMER_NAME.test(name)) {
    throw validationError(
      'consumerName',
      name,
      'Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+',
    );
  }
  return name;
}

function consumerJson(consumer: Consumer) {
  return {
    ConsumerName: consumer.name,
    ConsumerARN: consumer.arn,
    ConsumerStatus: consumer.status,
    ConsumerCreationTimestamp: consumer.createdAt / 1000,
  };
}

export class ConsumerRegistry {
  /** By ConsumerARN. */
  private readonly consumers = new Map<string, Consumer>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    /** kinesalite's DescribeStreamSummary; throws KinesisErrorAnswer (ResourceNotFoundException). */
    private readonly describeStream: (name: string) => Promise<StreamInfo>,
    private readonly activationMs: number,
    /** Called when a consumer starts deleting, so its subscriptions end. */
    private readonly onDeleting: (consumer: Consumer) => void,
  ) {}

  async register(input: Input): Promise<object> {
    const stream = await this.resolveStream(stringField(input, 'StreamARN', true)!);
    const name = consumerName(input, true)!;
    const ofStream = [...this.consumers.values()].filter((c) => c.streamArn === stream.arn);
    if (ofStream.some((c) => c.name === name)) {
      throw new KinesisErrorAnswer(
        'ResourceInUseException',
        `Consumer ${name} under stream ${stream.name} already exists for account ${accountOf(stream.arn)}.`,
      );
    }
    if (ofStream.length >= MAX_CONSUMERS_PER_STREAM) {
      throw new KinesisErrorAnswer(
        'LimitExceededException',
        `Stream ${stream.name} already has ${MAX_CONSUMERS_PER_STREAM} registered consumers.`,
      );
    }
    if ([...this.consumers.values()].filter((c) => c.status === 'CREATING').length >= MAX_CREATING) {
      throw new KinesisErrorAnswer(
        'LimitExceededException',
        `At most ${MAX_CREATING} consumers can be in CREATING status at a time.`,
      );
    }
    const createdAt = Date.now();
    const consumer: Consumer = {
      name,
      arn: `${stream.arn}/consumer/${name}:${Math.floor(createdAt / 1000)}`,
      streamArn: stream.arn,
      streamName: stream.name,
      streamCreatedAt: stream.createdAt,
      createdAt,
      status: 'CREATING',
    };
    this.consumers.set(consumer.arn, consumer);
    this.later(() => {
      if (this.consumers.get(consumer.arn) === consumer && consumer.status === 'CREATING') {
        consumer.status = 'ACTIVE';
      }
    });
    return { Consumer: consumerJson(consumer) };
  }

  async describe(input: Input): Promise<object> {
    const consumer = await this.find(input);
    return { ConsumerDescription: { ...consumerJson(consumer), StreamARN: consumer.streamArn } };
  }

  async list(input: Input): Promise<object> {
    const stream = await this.resolveStream(stringField(input, 'StreamARN', true)!);
    const maxResults = input.MaxResults ?? DEFAULT_MAX_RESULTS;
    if (
      typeof maxResults !== 'number' ||
      !Number.isInteger(maxResults) ||
      maxResults < 1 ||
      maxResults > 10_000
    ) {
      throw validationError('maxResults', maxResults, 'Member must have value between 1 and 10000');
    }
    const token = stringField(input, 'NextToken', false);
    let offset = 0;
    if (token !== undefined) {
      const decoded = /^(\d+):(.*)$/.exec(Buffer.from(token, 'base64').toString('utf8'));
      if (!decoded || decoded[2] !== stream.arn) {
        throw new KinesisErrorAnswer('InvalidArgumentException', 'Invalid NextToken.');
      }
      offset = Number(decoded[1]);
    }
    const all = [...this.consumers.values()].filter((c) => c.streamArn === stream.arn);
    const page = all.slice(offset, offset + maxResults);
    const next = offset + page.length;
    return {
      Consumers: page.map(consumerJson),
      ...(next < all.length ? { NextToken: Buffer.from(`${next}:${stream.arn}`).toString('base64') } : {}),
    };
  }

  async deregister(input: Input): Promise<object> {
    const consumer = await this.find(input);
    if (consumer.status !== 'DELETING') {
      consumer.status = 'DELETING';
      this.onDeleting(consumer);
      this.later(() => {
        if (this.consumers.get(consumer.arn) === consumer) this.consumers.delete(consumer.arn);
      });
    }
    return {};
  }

  /**
   * DeleteStream of a stream with registered consumers fails with ResourceInUseException unless
   * EnforceConsumerDeletion, which deletes them (kinesalite deletes streams regardless).
   */
  deleteStream(streamName: string, enforceConsumerDeletion: boolean): void {
    const registered = [...this.consumers.values()].filter((c) => c.streamName === streamName);
    if (registered.length === 0) return;
    if (!enforceConsumerDeletion) {
      throw new KinesisErrorAnswer(
        'ResourceInUseException',
        `Stream ${streamName} has registered consumers; delete them first or set EnforceConsumerDeletion.`,
      );
    }
    for (const consumer of registered) {
      this.consumers.delete(consumer.arn);
      this.onDeleting(consumer);
    }
  }

  /** The consumer a SubscribeToShard names, which must be ACTIVE (ResourceInUseException otherwise). */
  async forSubscription(arn: string): Promise<Consumer> {
    const consumer = await this.find({ ConsumerARN: arn });
    if (consumer.status !== 'ACTIVE') {
      throw new KinesisErrorAnswer(
        'ResourceInUseException',
        `Consumer ${arn} is ${consumer.status}; it can be subscribed when ACTIVE.`,
      );
    }
    return consumer;
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** By ConsumerARN, or by StreamARN and ConsumerName (all three when they agree). */
  private async find(input: Input): Promise<Consumer> {
    const arn = stringField(input, 'ConsumerARN', false);
    const streamArn = stringField(input, 'StreamARN', false);
    const name = consumerName(input, false);
    if (arn === undefined && (streamArn === undefined || name === undefined)) {
      throw new KinesisErrorAnswer(
        'InvalidArgumentException',
        'Either ConsumerARN, or StreamARN and ConsumerName, must be given.',
      );
    }
    let consumer = arn !== undefined ? this.consumers.get(arn) : undefined;
    if (arn === undefined) {
      consumer = [...this.consumers.values()].find((c) => c.streamArn === streamArn && c.name === name);
    }
    const conflicting =
      consumer &&
      ((streamArn !== undefined && consumer.streamArn !== streamArn) ||
        (name !== undefined && consumer.name !== name));
    if (consumer && !conflicting) {
      // Its stream may have been deleted (and created again) since.
      await this.resolveStream(consumer.streamArn).catch((error: unknown) => {
        if (!(error instanceof KinesisErrorAnswer) || error.type !== 'ResourceNotFoundException') throw error;
      });
    }
    if (!consumer || conflicting || !this.consumers.has(consumer.arn)) {
      throw new KinesisErrorAnswer(
        'ResourceNotFoundException',
        `Consumer ${arn ?? `${name} of stream ${streamArn}`} not found.`,
      );
    }
    return consumer;
  }

  /** The stream an ARN names, as kinesalite has it now; forgets consumers of an earlier stream of its name. */
  private async resolveStream(arn: string): Promise<StreamInfo> {
    const match = STREAM_ARN.exec(arn);
    if (!match) {
      throw validationError(
        'streamARN',
        arn,
        'Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+',
      );
    }
    let stream: StreamInfo | undefined;
    try {
      stream = await this.describeStream(match[2]!);
    } catch (error) {
      if (!(error instanceof KinesisErrorAnswer) || error.type !== 'ResourceNotFoundException') throw error;
    }
    for (const consumer of [...this.consumers.values()]) {
      if (consumer.streamArn === arn && consumer.streamCreatedAt !== stream?.createdAt) {
        this.consumers.delete(consumer.arn);
        this.onDeleting(consumer);
      }
    }
    if (!stream || stream.arn !== arn) {
      throw new KinesisErrorAnswer(
        'ResourceNotFoundException',
        `Stream ${match[2]} under account ${match[1]} not found.`,
      );
    }
    return stream;
  }

  private later(fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, this.activationMs);
    this.timers.add(timer);
  }
}

function accountOf(streamArn: string): string {
  return streamArn.split(':')[4] ?? '';
}
