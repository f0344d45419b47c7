import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateStreamCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startEmulators, type LocalEmulators } from '../../src/local/emulators';
import { readStream } from '../support/streams';
import { waitForActive } from '../support/emulators';
import {
  dependencyClosure,
  HEAVY_DEPENDENCIES,
  lock,
  missingDeclarations,
  packIntoApp,
  ROOT,
  run,
  runAsync,
  typecheck,
  type Manifest,
} from '../support/workspace-package';

// kinesis-reservoir-producer (packages/producer/, built from src/producer/) is what teams add to
// their own producers: it installs with aws-kinesis-agg alone; the AWS SDK's Kinesis client is an
// optional peer, the one the application already has.
const PACKAGE_DIR = join(ROOT, 'packages', 'producer');
const NAME = 'kinesis-reservoir-producer';
const ALLOWED_DEPENDENCIES = ['aws-kinesis-agg'];
const PEER = '@aws-sdk/client-kinesis';

const manifest = JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as Manifest;

describe('kinesis-reservoir-producer, the package', () => {
  let tmp: string;
  /** An app with the package and its dependencies only; `withSdk` also has the peer. */
  let app: string;
  let withSdk: string;
  let packed: string[];
  let emulators: LocalEmulators;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'reservoir-producer-package-'));
    app = join(tmp, 'app');
    packed = packIntoApp('producer', NAME, tmp, app, Object.keys(manifest.dependencies ?? {}));
    withSdk = join(tmp, 'app-with-sdk');
    // A copy, not a link: Node resolves a linked package's requires from where the link points.
    cpSync(join(app, 'node_modules'), join(withSdk, 'node_modules'), {
      recursive: true,
      verbatimSymlinks: true,
    });
    mkdirSync(join(withSdk, 'node_modules', '@aws-sdk'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', PEER), join(withSdk, 'node_modules', PEER), 'dir');
    emulators = await startEmulators({ dir: join(tmp, 'emulators') });
  });

  afterAll(async () => {
    await emulators?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** Runs a script in `dir` with no NODE_PATH, as an application would; its stdout parsed as JSON. */
  const runIn = async (dir: string, script: string) => {
    const { NODE_PATH: _ignored, ...env } = process.env;
    const stdout = await runAsync(process.execPath, ['-e', script], dir, {
      ...env,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
    return JSON.parse(stdout) as Record<string, unknown>;
  };

  it('declares exactly the allowed dependencies, the SDK as an optional peer, and npm builds it before packing', () => {
    expect(manifest.name).toBe(NAME);
    expect(Object.keys(manifest.dependencies ?? {}).sort()).toEqual(ALLOWED_DEPENDENCIES);
    expect(Object.keys(manifest.peerDependencies ?? {})).toEqual([PEER]);
    expect(manifest.peerDependenciesMeta).toEqual({ [PEER]: { optional: true } });
    expect(manifest.optionalDependencies ?? {}).toEqual({});
    expect(manifest.bundleDependencies ?? manifest.bundledDependencies ?? []).toEqual([]);
    expect(manifest.scripts?.prepack).toBe('npm run build');
    expect(manifest.scripts?.build).toBe('node ../../scripts/build-package.cjs producer');
  });

  it('given package-lock.json, then installing it brings none of the main package’s heavy dependencies', () => {
    expect(lock['packages/producer']?.dependencies).toEqual(manifest.dependencies);
    expect(lock['packages/producer']?.peerDependencies).toEqual(manifest.peerDependencies);
    expect(lock[`node_modules/${NAME}`]).toMatchObject({ link: true, resolved: 'packages/producer' });
    const closure = [...dependencyClosure('packages/producer')];
    expect(closure).toEqual(expect.arrayContaining(ALLOWED_DEPENDENCIES));
    expect(closure.filter((name) => HEAVY_DEPENDENCIES.some((pattern) => pattern.test(name)))).toEqual([]);
  });

  it('packs only the built JavaScript, its declarations, package.json and the README', () => {
    expect(packed).toEqual(expect.arrayContaining(['README.md', 'dist/index.cjs', 'package.json']));
    expect(packed).toContain('dist/types/producer/index.d.ts');
    expect(
      packed.filter(
        (path) => !/^(README\.md|package\.json|dist\/index\.cjs|dist\/types\/.+\.d\.ts)$/.test(path),
      ),
    ).toEqual([]);
    expect(missingDeclarations(join(app, 'node_modules', NAME), packed)).toEqual([]);
  });

  it('requires nothing but its declared dependencies, its peer and Node’s own modules', () => {
    const code = readFileSync(join(app, 'node_modules', NAME, 'dist', 'index.cjs'), 'utf8');
    const required = [...code.matchAll(/\brequire\("([^"]+)"\)/g)].map((match) => match[1]!);
    const allowed = new Set([
      ...ALLOWED_DEPENDENCIES,
      PEER,
      ...builtinModules,
      ...builtinModules.map((m) => `node:${m}`),
    ]);
    expect(required.filter((name) => !allowed.has(name))).toEqual([]);
    expect(code).not.toMatch(/\bimport\(/);
  });

  it('given an app without the AWS SDK, then it puts through the app’s own putRecords client and aggregates', async () => {
    const script = `
      const p = require(${JSON.stringify(NAME)});
      const sent = [];
      let calls = 0;
      const client = { putRecords: async (input) => {
        calls += 1;
        // The first request is throttled whole: retried, nothing lost.
        if (calls === 1) throw Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
        sent.push(...input.Records.map((r) => r.PartitionKey));
        return { Records: input.Records.map((_, i) => ({ ShardId: 'shardId-000000000000', SequenceNumber: String(calls * 1000 + i) })) };
      } };
      const producer = p.createProducer({ client, streamName: 'orders', aggregation: true, baseDelayMs: 1 });
      Promise.all([1, 2, 3].map((n) => producer.put({ partitionKey: 'k', data: 'v' + n })))
        .then(async (acks) => {
          await producer.close();
          const refused = await producer.put({ partitionKey: 'k', data: 'late' }).catch((e) => e.name);
          const noSdk = await p.createProducer({ streamName: 'orders', region: 'eu-west-1' })
            .put({ partitionKey: 'k', data: 'x' }).catch((e) => e.name + ': ' + e.message);
          process.stdout.write(JSON.stringify({ from: require.resolve(${JSON.stringify(NAME)}), acks, sent, refused, noSdk, totals: producer.metrics() }));
        });
    `;
    const result = await runIn(app, script);
    expect(result.from).toBe(join(app, 'node_modules', NAME, 'dist', 'index.cjs'));
    expect(result.acks).toEqual(
      [0, 1, 2].map((i) => ({
        shardId: 'shardId-000000000000',
        sequenceNumber: '2000',
        subSequenceNumber: i,
      })),
    );
    expect(result.sent).toEqual(['k']);
    expect(result.refused).toBe('ProducerClosedError');
    expect(result.noSdk).toMatch(/^RecordDeliveryError: .*@aws-sdk\/client-kinesis, which is not installed/);
    expect(result.totals).toMatchObject({ batches: 2, kinesisRecordsPut: 1, recordsPut: 3, throttles: 1 });
  });

  it('given an app with @aws-sdk/client-kinesis, then it builds its client from an endpoint and puts into kinesalite', async () => {
    const kinesis = new KinesisClient({
      endpoint: emulators.kinesisEndpoint,
      region: emulators.env.AWS_REGION,
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      requestHandler: new NodeHttpHandler(),
    });
    await kinesis.send(new CreateStreamCommand({ StreamName: 'packaged', ShardCount: 1 }));
    await waitForActive(kinesis, 'packaged');
    const script = `
      const { createProducer } = require(${JSON.stringify(NAME)});
      const producer = createProducer({ streamName: 'packaged', endpoint: ${JSON.stringify(emulators.kinesisEndpoint)},
        region: ${JSON.stringify(emulators.env.AWS_REGION)}, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
      Promise.all(['a', 'b'].map((data) => producer.put({ partitionKey: 'k', data })))
        .then(async (acks) => { await producer.close(); process.stdout.write(JSON.stringify({ acks })); });
    `;
    const result = await runIn(withSdk, script);
    const stored = await readStream(kinesis, 'packaged');
    kinesis.destroy();
    expect(stored.map((r) => r.data.toString())).toEqual(['a', 'b']);
    expect(result.acks).toEqual(
      stored.map((r) => ({ shardId: r.shardId, sequenceNumber: r.sequenceNumber })),
    );
  });

  it('given that app in TypeScript, then the packed declarations type its use with a KinesisClient and catch a misuse', () => {
    writeFileSync(
      join(withSdk, 'check.ts'),
      `
      import { KinesisClient } from '@aws-sdk/client-kinesis';
      import { createProducer, RecordDeliveryError, type Acknowledgement, type BatchMetrics } from '${NAME}';
      const producer = createProducer({
        client: new KinesisClient({ region: 'eu-west-1' }),
        streamName: 'orders',
        aggregation: true,
        onMetrics: (m: BatchMetrics) => m.throttled,
      });
      export const ack: Promise<Acknowledgement> = producer.put({ partitionKey: 'k', data: new Uint8Array([1]) });
      export const failed = (e: unknown) => e instanceof RecordDeliveryError && e.partitionKey;
      // @ts-expect-error a record needs a partition key
      producer.put({ data: 'x' });
      // @ts-expect-error a producer needs a stream
      createProducer({ region: 'eu-west-1' });
      // Each declaration file is found: an export whose file is missing would be \`any\`.
      // @ts-expect-error not a number
      export const fromProducer: number = createProducer;
      // @ts-expect-error not a number
      export const fromErrors: number = RecordDeliveryError;
      `,
    );
    typecheck(withSdk, 'check.ts');
  });

  it('is also the main package’s kinesis-reservoir/producer', () => {
    const script = `
      const p = require('kinesis-reservoir/producer');
      process.stdout.write(JSON.stringify({ same: p === require(${JSON.stringify(NAME)}), createProducer: typeof p.createProducer }));
    `;
    expect(JSON.parse(run(process.execPath, ['-e', script], ROOT))).toEqual({
      same: true,
      createProducer: 'function',
    });
  });
});
