import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { startEfoKinesis, type EfoKinesis, type EfoKinesisOptions } from './efo-kinesis';
import { installKinesaliteRecordSize, type RecordSizeStore } from './kinesalite-record-size';
import { installKinesaliteTagFix, type Store } from './kinesalite-tags';
import { LOCAL_BUCKET } from './local-env';

// kinesalite keeps its store private; capture it so tests can age records past retention.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const kinesaliteDb = require('kinesalite/db') as { create: (options: object) => KinesaliteStore };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const kinesalite = require('kinesalite') as (options: object) => Server;

export interface KinesaliteStore {
  metaDb: {
    get(name: string, cb: (err: Error | null, value: { RetentionPeriodHours: number }) => void): void;
    put(name: string, value: object, cb: (err: Error | null) => void): void;
  };
}

export interface LocalEmulators {
  /**
   * Kinesis as clients see it: kinesalite behind the enhanced fan-out endpoint (stream consumers,
   * SubscribeToShard over HTTP/2; everything else forwarded), over HTTP/1.1 and HTTP/2.
   */
  kinesisEndpoint: string;
  /** kinesalite itself: no consumers, no SubscribeToShard, HTTP/1.1 only (e.g. a proxy's upstream). */
  kinesaliteEndpoint: string;
  /** The enhanced fan-out endpoint (its stats). */
  efo: EfoKinesis;
  s3Endpoint: string;
  bucket: string;
  region: string;
  /** The environment that points the SDK (and reservoir) at these emulators. */
  env: Record<string, string>;
  /** Test hook: makes kinesalite treat records older than `ms` as expired (trimmed). */
  setRetentionMillis(stream: string, ms: number): Promise<void>;
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  /** Where s3rver keeps objects (and kinesalite its data when `persistKinesis`). */
  dir: string;
  bucket?: string;
  /** Port of the Kinesis endpoint clients use (kinesalite itself listens on a free one). */
  kinesisPort?: number;
  s3Port?: number;
  persistKinesis?: boolean;
  /** Settings of the enhanced fan-out endpoint, e.g. a short subscriptionMs in tests. */
  efo?: Omit<EfoKinesisOptions, 'upstream' | 'port'>;
}

async function startKinesalite(options: EmulatorOptions) {
  let store: KinesaliteStore | undefined;
  const create = kinesaliteDb.create;
  kinesaliteDb.create = (opts: object) => (store = create(opts));
  const server = kinesalite({
    createStreamMs: 0,
    deleteStreamMs: 0,
    updateStreamMs: 0,
    shardLimit: 1000,
    ...(options.persistKinesis ? { path: join(options.dir, 'kinesis') } : {}),
  });
  kinesaliteDb.create = create;
  installKinesaliteTagFix(server, store as unknown as Store);
  // Records up to 10 MiB, per stream (UpdateMaxRecordSize), as on AWS.
  installKinesaliteRecordSize(server, store as unknown as RecordSizeStore);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return { server, store: store!, port: (server.address() as AddressInfo).port };
}

async function startS3rver(
  dir: string,
  port: number,
  bucket: string,
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', join(__dirname, 's3rver-process.cjs'), dir, String(port), bucket],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<{ port: number }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`s3rver exited with code ${code}`)));
    lines.once('line', (line) => resolve(JSON.parse(line) as { port: number }));
  });
  return { child, port: ready.port };
}

/** Starts kinesalite (in this process) and s3rver (a child process) on loopback. */
export async function startEmulators(options: EmulatorOptions): Promise<LocalEmulators> {
  const bucket = options.bucket ?? LOCAL_BUCKET;
  mkdirSync(join(options.dir, 's3'), { recursive: true });
  const kinesis = await startKinesalite(options);
  const kinesaliteEndpoint = `http://127.0.0.1:${kinesis.port}`;
  const efo = await startEfoKinesis({
    ...options.efo,
    upstream: kinesaliteEndpoint,
    port: options.kinesisPort ?? 0,
  });
  const s3 = await startS3rver(join(options.dir, 's3'), options.s3Port ?? 0, bucket);
  const kinesisEndpoint = efo.endpoint;
  const s3Endpoint = `http://127.0.0.1:${s3.port}`;
  const region = 'us-east-1';
  return {
    kinesisEndpoint,
    kinesaliteEndpoint,
    efo,
    s3Endpoint,
    bucket,
    region,
    env: {
      AWS_ENDPOINT_URL_KINESIS: kinesisEndpoint,
      AWS_ENDPOINT_URL_S3: s3Endpoint,
      AWS_REGION: region,
      // The AWS CLI v1 reads AWS_DEFAULT_REGION only.
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      RESERVOIR_BUCKET: bucket,
    },
    setRetentionMillis: (stream, ms) =>
      new Promise((resolve, reject) => {
        kinesis.store.metaDb.get(stream, (err, value) => {
          if (err) return reject(err);
          kinesis.store.metaDb.put(stream, { ...value, RetentionPeriodHours: ms / 3_600_000 }, (putErr) =>
            putErr ? reject(putErr) : resolve(),
          );
        });
      }),
    stop: async () => {
      await efo.stop();
      await new Promise<void>((resolve) => kinesis.server.close(() => resolve()));
      s3.child.kill('SIGTERM');
      await new Promise<void>((resolve) =>
        s3.child.exitCode !== null ? resolve() : s3.child.once('exit', () => resolve()),
      );
    },
  };
}

/** Points this process's SDK clients at the emulators. */
export function applyEnvironment(env: Record<string, string>): void {
  Object.assign(process.env, env);
}
