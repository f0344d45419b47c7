import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { kplAggregate } from '../../src/local/traffic';

// kinesis-reservoir-consumer (packages/consumer/, built from src/consumer/) is what teams add to
// their own consumers: it must install with its own few dependencies, none of the main package's.
const ROOT = join(__dirname, '..', '..');
const PACKAGE_DIR = join(ROOT, 'packages', 'consumer');
const NAME = 'kinesis-reservoir-consumer';
const ALLOWED_DEPENDENCIES = ['aws-kinesis-agg'];
const FORBIDDEN = [
  /^@duckdb\//,
  /^duckdb$/,
  /^kinesalite$/,
  /^s3rver$/,
  /^tsx$/,
  /^@aws-sdk\//,
  /^@aws-lambda-powertools\//,
  /^@middy\//,
  /^aws-local-stepfunctions$/,
];

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  bundleDependencies?: string[];
  bundledDependencies?: string[];
  scripts?: Record<string, string>;
}
interface LockEntry extends Manifest {
  link?: boolean;
  resolved?: string;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const manifest = JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as Manifest;
const lock = (
  JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> }
).packages;

/** The lockfile path Node would load `name` from when `from` (a lockfile path) requires it. */
function resolveInLock(from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = dir === '' ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (lock[candidate]) return candidate;
    if (dir === '') return undefined;
    const up = dir.lastIndexOf('/node_modules/');
    dir = up === -1 ? '' : dir.slice(0, up);
  }
}

/** Every package an install of the lockfile entry `start` brings, by name. */
function dependencyClosure(start: string): Set<string> {
  const names = new Set<string>();
  const seen = new Set<string>([start]);
  const queue = [start];
  while (queue.length > 0) {
    const at = queue.pop()!;
    const entry = lock[at]!;
    const path = entry.link ? entry.resolved! : at;
    const real = lock[path]!;
    const required = Object.keys({ ...real.dependencies, ...real.peerDependencies }).filter(
      (name) => !real.peerDependenciesMeta?.[name]?.optional,
    );
    const optional = Object.keys(real.optionalDependencies ?? {});
    for (const name of [...required, ...optional]) {
      const found = resolveInLock(path, name);
      if (found === undefined) {
        if (optional.includes(name)) continue;
        throw new Error(`${name}, needed by ${path}, is not in package-lock.json`);
      }
      names.add(name);
      if (!seen.has(found)) {
        seen.add(found);
        queue.push(found);
      }
    }
  }
  return names;
}

/** A command's stdout; on failure its output is in the error. */
function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  try {
    return execFileSync(command, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

describe('kinesis-reservoir-consumer, the package', () => {
  let tmp: string;
  let app: string;
  let packed: string[];

  beforeAll(() => {
    run(process.execPath, [join(ROOT, 'scripts', 'build-package.cjs'), 'consumer'], ROOT);
    tmp = mkdtempSync(join(tmpdir(), 'reservoir-consumer-package-'));
    // The package as a registry would serve it. Offline: packing asks the registry nothing.
    const [pack] = JSON.parse(
      run(
        'npm',
        ['pack', '--json', '--ignore-scripts', '--offline', '--pack-destination', tmp],
        PACKAGE_DIR,
        {
          ...process.env,
          npm_config_update_notifier: 'false',
        },
      ),
    ) as [{ filename: string; files: { path: string }[] }];
    packed = pack.files.map((file) => file.path).sort();

    // An application outside the repository with the package and only its declared dependencies.
    app = join(tmp, 'app');
    const installed = join(app, 'node_modules', NAME);
    mkdirSync(dirname(installed), { recursive: true });
    run('tar', ['-xzf', join(tmp, pack.filename), '-C', tmp], tmp);
    renameSync(join(tmp, 'package'), installed);
    for (const dependency of Object.keys(manifest.dependencies ?? {})) {
      const link = join(app, 'node_modules', dependency);
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules', dependency), link, 'dir');
    }
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
    // Every declaration file another one imports is in the package.
    const missing = packed
      .filter((path) => path.endsWith('.d.ts'))
      .flatMap((path) =>
        [...readFileSync(join(app, 'node_modules', NAME, path), 'utf8').matchAll(/from '(\.[^']+)'/g)]
          .map((match) => posix.join(posix.dirname(path), `${match[1]}.d.ts`))
          .filter((imported) => !packed.includes(imported)),
      );
    expect(missing).toEqual([]);
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
    run(
      process.execPath,
      [
        join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
        '--noEmit',
        '--strict',
        '--module',
        'node16',
        '--moduleResolution',
        'node16',
        '--typeRoots',
        join(ROOT, 'node_modules', '@types'),
        '--types',
        'node',
        // Only check.ts is checked: checking @types/node too would triple the time.
        '--skipLibCheck',
        'check.ts',
      ],
      app,
    );
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
