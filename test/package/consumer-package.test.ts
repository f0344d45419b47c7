import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kplAggregate } from '../../src/local/traffic';
import {
  dependencyClosure,
  HEAVY_DEPENDENCIES,
  lock,
  missingDeclarations,
  packIntoApp,
  ROOT,
  run,
  typecheck,
  type Manifest,
} from '../support/workspace-package';

// kinesis-reservoir-consumer (packages/consumer/, built from src/consumer/) is what teams add to
// their own consumers: it must install with its own few dependencies, none of the main package's.
const PACKAGE_DIR = join(ROOT, 'packages', 'consumer');
const NAME = 'kinesis-reservoir-consumer';
const ALLOWED_DEPENDENCIES = ['aws-kinesis-agg'];
const FORBIDDEN = HEAVY_DEPENDENCIES;

const manifest = JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as Manifest;

describe('kinesis-reservoir-consumer, the package', () => {
  let tmp: string;
  let app: string;
  let packed: string[];

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'reservoir-consumer-package-'));
    // An application outside the repository with the package and only its declared dependencies.
    app = join(tmp, 'app');
    packed = packIntoApp('consumer', NAME, tmp, app, Object.keys(manifest.dependencies ?? {}));
  });

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('declares exactly the allowed dependencies, and npm builds it before packing', () => {
    expect(manifest.name).toBe(NAME);
    expect(Object.keys(manifest.dependencies ?? {}).sort()).toEqual(ALLOWED_DEPENDENCIES);
    expect(manifest.optionalDependencies ?? {}).toEqual({});
    expect(manifest.peerDependencies ?? {}).toEqual({});
    expect(manifest.bundleDependencies ?? manifest.bundledDependencies ?? []).toEqual([]);
    expect(manifest.scripts?.prepack).toBe('npm run build');
    expect(manifest.scripts?.build).toBe('node ../../scripts/build-package.cjs consumer');
  });

  it('given package-lock.json, then installing it brings none of the main package’s heavy dependencies', () => {
    expect(lock['packages/consumer']?.dependencies).toEqual(manifest.dependencies);
    expect(lock[`node_modules/${NAME}`]).toMatchObject({ link: true, resolved: 'packages/consumer' });
    const closure = [...dependencyClosure('packages/consumer')];
    expect(closure).toEqual(expect.arrayContaining(ALLOWED_DEPENDENCIES));
    expect(closure.filter((name) => FORBIDDEN.some((pattern) => pattern.test(name)))).toEqual([]);
  });

  it('packs only the built JavaScript, its declarations, package.json and the README', () => {
    expect(packed).toEqual(expect.arrayContaining(['README.md', 'dist/index.cjs', 'package.json']));
    expect(packed).toContain('dist/types/consumer/index.d.ts');
    expect(
      packed.filter(
        (path) => !/^(README\.md|package\.json|dist\/index\.cjs|dist\/types\/.+\.d\.ts)$/.test(path),
      ),
    ).toEqual([]);
    expect(missingDeclarations(join(app, 'node_modules', NAME), packed)).toEqual([]);
  });

  it('requires nothing but its declared dependencies and Node’s own modules', () => {
    const code = readFileSync(join(app, 'node_modules', NAME, 'dist', 'index.cjs'), 'utf8');
    const required = [...code.matchAll(/\brequire\("([^"]+)"\)/g)].map((match) => match[1]!);
    const allowed = new Set([
      ...ALLOWED_DEPENDENCIES,
      ...builtinModules,
      ...builtinModules.map((m) => `node:${m}`),
    ]);
    expect(required.filter((name) => !allowed.has(name))).toEqual([]);
  });

  it('given an app with only its dependencies, then it decodes a KPL aggregate, a plain record and a replayed one', () => {
    const [aggregate] = kplAggregate([
      { partitionKey: 'a', data: Buffer.from('{"v":1}') },
      { partitionKey: 'b', data: Buffer.from('{"v":2}') },
    ]);
    const script = `
      const c = require(${JSON.stringify(NAME)});
      const summary = (r) => ({ partitionKey: r.partitionKey, position: r.position, payload: r.payload.toString(), replayed: r.replayed });
      const aggregated = c.decodeRecords({
        eventID: 'shardId-000000000003:555',
        eventSourceARN: 'arn:aws:kinesis:eu-west-1:123456789012:stream/orders',
        kinesis: { partitionKey: ${JSON.stringify(aggregate!.partitionKey)}, sequenceNumber: '555',
          data: ${JSON.stringify(aggregate!.data.toString('base64'))}, approximateArrivalTimestamp: 1732183200.123 },
      }).map(summary);
      const plain = c.decodeRecords({ SequenceNumber: '556', PartitionKey: 'c', Data: Buffer.from('plain'),
        ApproximateArrivalTimestamp: new Date(1732183200124) }, 'shardId-000000000003', 'orders').map(summary);

      const line = { stream: 'orders', shardId: 'shardId-000000000001', sequenceNumber: '100', subSequenceNumber: 0,
        partitionKey: 'k', arrivalTimestamp: 1, data: '{"v":1}', encoding: 'utf8' };
      const envelope = c.encodeEnvelope(line, 'r1', { forceOverwrite: false });
      const replayed = c.decodeRecord({ SequenceNumber: '900', PartitionKey: 'k', Data: envelope, ApproximateArrivalTimestamp: new Date() }, 'shardId-000000000000');
      const live = c.decodeRecord({ SequenceNumber: '200', PartitionKey: 'k', Data: Buffer.from('{"v":2}'), ApproximateArrivalTimestamp: new Date() }, 'shardId-000000000001');
      const tracker = new c.KeyStateTracker();
      const state = {};
      for (const r of [live, replayed]) tracker.offer(r, (r) => (state[r.partitionKey] = r.payload.toString()));

      process.stdout.write(JSON.stringify({ from: require.resolve(${JSON.stringify(NAME)}), aggregated, plain, replayed: summary(replayed), state }));
    `;
    const { NODE_PATH: _ignored, ...env } = process.env;
    const result = JSON.parse(run(process.execPath, ['-e', script], app, env));
    expect(result.from).toBe(join(app, 'node_modules', NAME, 'dist', 'index.cjs'));
    const at = (sequenceNumber: string, subSequenceNumber: number, arrivalTimestamp: number) => ({
      stream: 'orders',
      shardId: 'shardId-000000000003',
      sequenceNumber,
      subSequenceNumber,
      arrivalTimestamp,
    });
    expect(result.aggregated).toEqual([
      { partitionKey: 'a', position: at('555', 0, 1732183200123), payload: '{"v":1}', replayed: false },
      { partitionKey: 'b', position: at('555', 1, 1732183200123), payload: '{"v":2}', replayed: false },
    ]);
    expect(result.plain).toEqual([
      { partitionKey: 'c', position: at('556', 0, 1732183200124), payload: 'plain', replayed: false },
    ]);
    expect(result.replayed).toMatchObject({
      partitionKey: 'k',
      position: { stream: 'orders', shardId: 'shardId-000000000001', sequenceNumber: '100' },
      payload: '{"v":1}',
      replayed: true,
    });
    // The live record is newer than the replayed one's original position: it stays.
    expect(result.state).toEqual({ k: '{"v":2}' });
  });

  it('given that app in TypeScript, then the packed declarations type its use and catch a misuse', () => {
    writeFileSync(
      join(app, 'check.ts'),
      `
      import { comparePositions, decodeRecords, encodeEnvelope, KeyStateTracker, type DecodedRecord, type LambdaKinesisRecord } from '${NAME}';
      const record: LambdaKinesisRecord = {
        eventID: 'shardId-000000000003:555',
        kinesis: { partitionKey: 'k', sequenceNumber: '555', data: 'e30=', approximateArrivalTimestamp: 1 },
      };
      const decoded: DecodedRecord[] = decodeRecords(record);
      const tracker = new KeyStateTracker();
      const applied: string[] = [];
      for (const r of decoded) tracker.offer(r, (d) => applied.push(d.payload.toString('utf8')));
      // @ts-expect-error a GetRecords record needs its shard id
      decodeRecords({ SequenceNumber: '1', PartitionKey: 'k', Data: new Uint8Array() });
      // Each declaration file is found: an export whose file is missing would be \`any\`.
      // @ts-expect-error not a number
      export const fromDecode: number = decodeRecords;
      // @ts-expect-error not a number
      export const fromPosition: number = comparePositions;
      // @ts-expect-error not a number
      export const fromTracker: number = KeyStateTracker;
      // @ts-expect-error not a number
      export const fromEnvelope: number = encodeEnvelope;
      `,
    );
    typecheck(app, 'check.ts');
  });

  it('is also the main package’s kinesis-reservoir/consumer', () => {
    const script = `
      const c = require('kinesis-reservoir/consumer');
      process.stdout.write(JSON.stringify({ same: c === require(${JSON.stringify(NAME)}), decodeRecords: typeof c.decodeRecords }));
    `;
    expect(JSON.parse(run(process.execPath, ['-e', script], ROOT))).toEqual({
      same: true,
      decodeRecords: 'function',
    });
  });
});
