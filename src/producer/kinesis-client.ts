import { createRequire } from 'node:module';
import type { PutResult } from '../core/ports';
import type { PutRecordsEntry } from '../core/put-batcher';
import { translateAwsError } from '../aws/errors';
import type { SendBatch } from './batch-sender';

/** PutRecords' input, as `@aws-sdk/client-kinesis` v3 takes it. */
export interface PutRecordsInput {
  StreamName?: string;
  StreamARN?: string;
  Records: { Data: Uint8Array; PartitionKey: string; ExplicitHashKey?: string }[];
}

/** PutRecords' output, as `@aws-sdk/client-kinesis` v3 returns it. */
export interface PutRecordsOutput {
  FailedRecordCount?: number;
  Records?: { SequenceNumber?: string; ShardId?: string; ErrorCode?: string; ErrorMessage?: string }[];
}

/**
 * What the producer sends PutRecords through: a `KinesisClient` of `@aws-sdk/client-kinesis` v3
 * (`send`), its aggregated `Kinesis` class, or anything with a `putRecords` of that shape (a
 * wrapper, a fake in tests). Typed by shape so the producer's declarations need no SDK.
 */
export type KinesisClientLike =
  | { putRecords(input: PutRecordsInput): Promise<PutRecordsOutput> }
  | { send(command: never): Promise<unknown> };

/** Where the records go: a stream's name or its ARN. */
export type StreamTarget = { streamName: string } | { streamARN: string };

export interface ClientSettings {
  region?: string;
  /** e.g. a local emulator's `http://127.0.0.1:4567`. */
  endpoint?: string;
  /** As the SDK takes them; absent: the SDK's default credential chain. */
  credentials?: unknown;
}

type Sdk = typeof import('@aws-sdk/client-kinesis');
let sdk: Sdk | undefined;
/**
 * The SDK is the caller's (an optional peer dependency), loaded only when the producer builds a
 * client or a PutRecords command itself. require(), not import(): the package is CommonJS, and a
 * native import() would not run under test runners' module sandboxes.
 */
const loadSdk = (): Sdk => {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (sdk ??= require('@aws-sdk/client-kinesis') as Sdk);
  } catch (error) {
    if ((error as { code?: string }).code !== 'MODULE_NOT_FOUND') throw error;
    throw new Error(
      'The producer sends through @aws-sdk/client-kinesis, which is not installed: install it, or pass a client with putRecords',
      { cause: error },
    );
  }
};

/**
 * A KinesisClient for `region`/`endpoint`, built with the caller's `@aws-sdk/client-kinesis`. Its
 * default handler speaks HTTP/2 (for SubscribeToShard); a plain `http://` endpoint (an emulator
 * such as kinesalite) only speaks HTTP/1.1, so there it gets the SDK's own HTTP/1.1 handler,
 * resolved from the client package (whose dependency it is).
 */
export async function createKinesisClient(settings: ClientSettings): Promise<KinesisClientLike> {
  const { KinesisClient } = loadSdk();
  const plainHttp = settings.endpoint?.startsWith('http:') ?? false;
  return new KinesisClient({
    ...(settings.region ? { region: settings.region } : {}),
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...(settings.credentials ? { credentials: settings.credentials as never } : {}),
    ...(plainHttp ? { requestHandler: new (loadHttp1Handler())() } : {}),
  });
}

function loadHttp1Handler(): new () => never {
  const fromSdk = createRequire(require.resolve('@aws-sdk/client-kinesis'));
  return (fromSdk('@smithy/node-http-handler') as { NodeHttpHandler: new () => never }).NodeHttpHandler;
}

export const describeTarget = (target: StreamTarget): string =>
  'streamName' in target ? `stream ${target.streamName}` : `stream ${target.streamARN}`;

/**
 * One PutRecords call through `client`: a result per entry, in order, with the shard and sequence
 * number of each acknowledged one. Failures of the whole request are translated as reservoir's
 * AWS adapters translate them (ThrottledError and ServiceUnavailableError are tried again).
 */
export function putRecordsVia(
  client: KinesisClientLike | Promise<KinesisClientLike>,
  target: StreamTarget,
): SendBatch<PutRecordsEntry> {
  const address =
    'streamName' in target ? { StreamName: target.streamName } : { StreamARN: target.streamARN };
  const what = `PutRecords ${describeTarget(target)}`;
  return async (entries) => {
    const input: PutRecordsInput = {
      ...address,
      Records: entries.map((entry) => ({
        Data: entry.data,
        PartitionKey: entry.partitionKey,
        ...(entry.explicitHashKey === undefined ? {} : { ExplicitHashKey: entry.explicitHashKey }),
      })),
    };
    let output: PutRecordsOutput;
    try {
      const resolved = await client;
      if ('putRecords' in resolved) {
        output = await resolved.putRecords(input);
      } else {
        const { PutRecordsCommand } = loadSdk();
        output = (await resolved.send(new PutRecordsCommand(input) as never)) as PutRecordsOutput;
      }
    } catch (error) {
      throw translateAwsError(error, what);
    }
    const results = output.Records ?? [];
    if (results.length !== entries.length) {
      throw new Error(`${what} answered ${results.length} results for ${entries.length} records`);
    }
    return results.map((result): PutResult =>
      result.ErrorCode
        ? { ok: false, errorCode: result.ErrorCode, errorMessage: result.ErrorMessage ?? '' }
        : { ok: true, shardId: result.ShardId, sequenceNumber: result.SequenceNumber },
    );
  };
}
