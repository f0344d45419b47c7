import { EC2Client } from '@aws-sdk/client-ec2';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttp2Handler, NodeHttpHandler } from '@smithy/node-http-handler';
import { telemetry } from '../telemetry/powertools';

/**
 * SDK clients, built once per process. Endpoints come from the SDK's standard variables
 * (AWS_ENDPOINT_URL_KINESIS, AWS_ENDPOINT_URL_S3, AWS_REGION), so the same code talks to AWS
 * or to the local emulators. HTTP/1.1 everywhere (kinesalite cannot speak HTTP/2) but for
 * SubscribeToShard, which needs HTTP/2: kinesisSubscriptionClient.
 */
let kinesis: KinesisClient | undefined;
let kinesisSubscriptions: KinesisClient | undefined;
let s3: S3Client | undefined;
let ec2: EC2Client | undefined;

function httpHandler(): NodeHttpHandler {
  return new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 60_000 });
}

export function kinesisClient(): KinesisClient {
  kinesis ??= traced(new KinesisClient({ requestHandler: httpHandler(), maxAttempts: 3 }));
  return kinesis;
}

/**
 * Enhanced fan-out (RegisterStreamConsumer, SubscribeToShard...) over HTTP/2, at the same endpoint
 * as kinesisClient (locally the emulators' endpoint, which speaks both protocols). Each
 * subscription gets its own HTTP/2 session (the SDK isolates event streams). A subscription
 * receives an event at least every few seconds, so a minute without any is a dead connection.
 */
export function kinesisSubscriptionClient(): KinesisClient {
  kinesisSubscriptions ??= traced(
    new KinesisClient({
      requestHandler: new NodeHttp2Handler({ requestTimeout: 60_000, disableConcurrentStreams: true }),
      maxAttempts: 3,
    }),
  );
  return kinesisSubscriptions;
}

export function s3Client(): S3Client {
  // Emulators serve buckets by path, not by virtual host.
  s3 ??= traced(
    new S3Client({
      requestHandler: httpHandler(),
      maxAttempts: 5,
      forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL),
    }),
  );
  return s3;
}

/** Only PrepareQueryWindow uses it (the tags of the window's subnet, VPC and security groups). */
export function ec2Client(): EC2Client {
  ec2 ??= traced(new EC2Client({ requestHandler: httpHandler(), maxAttempts: 5 }));
  return ec2;
}

/** X-Ray subsegments for every SDK call inside Lambda; outside it the client is unchanged. */
function traced<T>(client: T): T {
  return telemetry().tracer.captureAWSv3Client(client);
}

/** Forgets the clients (tests and the local runner switch endpoints between runs). */
export function resetClients(): void {
  kinesis?.destroy();
  kinesisSubscriptions?.destroy();
  s3?.destroy();
  ec2?.destroy();
  kinesis = undefined;
  kinesisSubscriptions = undefined;
  s3 = undefined;
  ec2 = undefined;
}
