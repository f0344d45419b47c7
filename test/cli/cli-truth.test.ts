import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { archiveRuntime } from '../../src/archive/runtime';
import { runLocalStateMachine } from '../../src/local/state-machine-runner';
import { putAll, telemetryRecord } from '../../src/local/traffic';
import { createArchivedStream, useEmulators } from '../support/emulators';

/**
 * The real `reservoir` binary, run as a user runs it against the emulators: exit codes, the one
 * line on stderr, and that nothing was written where nothing should be.
 */

const BIN = join(__dirname, '..', '..', 'bin', 'reservoir.cjs');
const env = useEmulators();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function reservoir(args: string[], extraEnv: Record<string, string | undefined> = {}): Promise<Run> {
  const started = Date.now();
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env.emulators.env, ...extraEnv };
  delete childEnv.POWERTOOLS_LOG_LEVEL;
  for (const [key, value] of Object.entries(extraEnv)) if (value === undefined) delete childEnv[key];
  return new Promise((resolve) =>
    execFile(process.execPath, [BIN, ...args], { env: childEnv, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({
        code: error ? Number((error as { code?: number }).code ?? 1) : 0,
        stdout,
        stderr,
        ms: Date.now() - started,
      }),
    ),
  );
}

const lines = (text: string) => text.split('\n').filter((line) => line.length > 0);

async function bucketKeys(): Promise<string[]> {
  return (await archiveRuntime().store.listKeys('')).sort();
}

beforeAll(async () => {
  await createArchivedStream(env.kinesis, 'orders', 1);
  await putAll(
    env.kinesis,
    'orders',
    Array.from({ length: 30 }, (_, i) => telemetryRecord(i)),
  );
  await runLocalStateMachine('archive', { streams: ['orders'] }, { executionName: 'cli-archive-1' });
});

describe('reservoir replay --local --plan', () => {
  it('given an archived stream, then it prints the plan and puts nothing', async () => {
    const before = await bucketKeys();
    const run = await reservoir(['replay', '--local', '--plan', '--stream', 'orders', '--json']);
    expect(run.code).toBe(0);
    const plan = JSON.parse(run.stdout) as {
      objects: number;
      estimatedRecords: number;
      objectKeys: string[];
    };
    expect(plan).toMatchObject({ objects: 1, estimatedRecords: 30 });
    expect(plan.objectKeys[0]).toMatch(/^archive\/stream=orders\//);
    expect(run.stderr).not.toContain('must be object');
    expect(await bucketKeys()).toEqual(before);
  });

  it('given a date alone for --from, as sql takes it, then it is midnight UTC, not a validation error', async () => {
    const run = await reservoir([
      'replay',
      '--local',
      '--dry-run',
      '--stream',
      'orders',
      '--from',
      '2020-01-01',
      '--json',
    ]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ estimatedRecords: 30 });
  });
});

describe('a stream that neither exists nor has an archive', () => {
  it.each([
    ['replay', ['replay', '--local', '--stream', 'ordrs']],
    ['compact', ['compact', '--local', '--stream', 'ordrs']],
    ['sql', ['sql', '--stream', 'ordrs', 'SELECT count(*) FROM records']],
    ['status', ['status', '--local', '--stream', 'ordrs']],
    ['cost', ['cost', '--local', '--stream', 'ordrs']],
  ])(
    'given %s names it, then the command fails in one line with a suggestion and writes nothing',
    async (_, args) => {
      const before = await bucketKeys();
      const run = await reservoir(args);
      expect(run.code).toBe(1);
      expect(lines(run.stderr).at(-1)).toBe(
        'reservoir: stream "ordrs" has no archive in s3://reservoir-archive/ and does not exist in Kinesis (did you mean "orders"?)',
      );
      expect(run.stdout).toBe('');
      expect(await bucketKeys()).toEqual(before);
    },
  );
});

describe('--local says where it is', () => {
  it('given the emulator variables, then the first line on stderr names both endpoints and the bucket', async () => {
    const run = await reservoir(['status', '--local', '--json']);
    expect(run.code).toBe(0);
    expect(lines(run.stderr)[0]).toBe(
      `--local: Kinesis ${env.emulators.kinesisEndpoint}, S3 ${env.emulators.s3Endpoint}, bucket reservoir-archive`,
    );
  });

  it('given an endpoint nothing listens on, then it fails within seconds with one line naming it', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const before = await bucketKeys();
    const run = await reservoir(['replay', '--local', '--stream', 'orders'], {
      AWS_ENDPOINT_URL_KINESIS: `http://127.0.0.1:${port}`,
    });
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toEqual([
      `--local: Kinesis http://127.0.0.1:${port}, S3 ${env.emulators.s3Endpoint}, bucket reservoir-archive`,
      `reservoir: cannot reach the Kinesis endpoint http://127.0.0.1:${port} (AWS_ENDPOINT_URL_KINESIS): ECONNREFUSED; ` +
        'start the emulators with `reservoir local up`, or point the variable elsewhere',
    ]);
    expect(await bucketKeys()).toEqual(before);
  });
});

describe('a failing command', () => {
  const failing = ['replay', '--local', '--stream', 'orders', '--target', 'no-such-target'];

  it("given no --verbose, then it prints its one-line reason and none of the handlers' JSON logs", async () => {
    const run = await reservoir(failing);
    expect(run.code).toBe(1);
    expect(run.stderr).not.toContain('"level"');
    expect(lines(run.stderr).at(-1)).toMatch(/^reservoir: replay failed: \w+Error: .*no-such-target/);
  });

  it("given --verbose, then the handlers' JSON logs come too", async () => {
    const run = await reservoir([...failing, '--verbose']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('"level":"ERROR"');
  });
});

describe('reservoir status --check', () => {
  it('given a fresh archive run and healthy shards, then it exits 0 and says health ok', async () => {
    const run = await reservoir(['status', '--local', '--check', '--stream', 'orders']);
    expect(run.stderr).not.toContain('reservoir:');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('health: ok');
    expect(run.stdout).toMatch(/archive from \d{4}-\d{2}-\d{2}T\d{2}:00:00.000Z to /);
  });

  it('given no archive run within --max-run-age, then it exits 2 and names the problem (for cron)', async () => {
    const run = await reservoir(['status', '--local', '--check', '--max-run-age', '0m', '--json']);
    expect(run.code).toBe(2);
    const report = JSON.parse(run.stdout) as { problems: string[] };
    expect(report.problems).toEqual([
      expect.stringMatching(/^no archive run finished for \d+ min \(last: cli-archive-1/),
    ]);
  });
});

describe('a resumed replay', () => {
  it('given a replay id run before, then it says it resumed and what the earlier run had done', async () => {
    const args = [
      'replay',
      '--local',
      '--stream',
      'orders',
      '--replay-id',
      'cli-resume',
      '--to',
      '2099-01-01',
    ];
    const first = await reservoir(args);
    expect(first.code).toBe(0);
    expect(first.stderr).not.toMatch(/resuming|resumed:/);
    expect(lines(first.stderr).at(-1)).toMatch(/put 30, throttled retries/);

    const again = await reservoir(args);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(
      'resuming replay cli-resume: 1/1 work items done and 30 records put by earlier runs',
    );
    expect(lines(again.stderr).at(-1)).toMatch(
      /put 30 \(resumed: 30 of them put and 1 work items done by earlier runs, 0 put now\)/,
    );
  });
});

describe('reservoir verify', () => {
  it('given an intact archive, then it exits 0 and says full; with its object deleted, it exits 2 with the table and one line on stderr', async () => {
    const ok = await reservoir(['verify', '--local', '--stream', 'orders']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^orders: full: 1 hour\(s\): 1 full, 0 gap \(acknowledged\), 0 partial/);

    const { store } = archiveRuntime();
    const [key] = (await bucketKeys()).filter((k) => k.startsWith('archive/stream=orders/'));
    const body = (await store.getObject(key!))!;
    const metadata = (await store.getMetadata(key!))!;
    await store.deleteKeys([key!]);
    try {
      const run = await reservoir(['verify', '--local', '--stream', 'orders']);
      expect(run.code).toBe(2);
      expect(run.stdout).toMatch(/^orders: missing: /);
      expect(lines(run.stdout)[1]).toMatch(/^hour +status +objects +parquet +shard +finding$/);
      expect(lines(run.stdout)[2]).toMatch(
        / missing .* shardId-000000000000 {2}the checkpoint is at \d+ but no object ends there/,
      );
      expect(lines(run.stderr).at(-1)).toBe('reservoir: verify: 1 hour(s) not full in orders');
    } finally {
      await store.putObject(key!, body, 'application/x-ndjson', 'gzip', metadata);
    }
  });
});
