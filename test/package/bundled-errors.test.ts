import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OFFLINE_SLS_ENV } from '../support/sls-offline';

/**
 * The ASL's Retry and Catch match the error type Lambda reports, which the Node.js runtime takes
 * from the thrown error's `name`. This test takes the zips `sls package` builds, loads each
 * bundled handler in a fresh Node process as Lambda would, provokes each error the ASL names
 * through the handler itself (an S3 and a Kinesis on loopback answer as the real ones do when
 * throttling, failing, expiring an iterator or missing records), and checks the reported type.
 * A bundler that renamed a class (esbuild does on a name clash, e.g. with ajv's ValidationError)
 * would show here as `ValidationError2`.
 */

const root = join(__dirname, '..', '..');
let work: string;
const handlerFiles = new Map<string, string>();

type S3Mode = 'slowdown' | 'internal' | 'checkpoint';
type KinesisMode = 'throttle' | 'expired' | 'gap' | 'internal';
const fake = { s3: 'internal' as S3Mode, kinesis: 'internal' as KinesisMode };
let s3Server: Server;
let kinesisServer: Server;

const CHECKPOINTED_AT = '49590338271490256608559692538361571095921575989136588898';
const AFTER_A_GAP = '49590338271490256608559692538361571095921575989136589999';

function s3Error(response: ServerResponse, status: number, code: string): void {
  response.writeHead(status, { 'content-type': 'application/xml' });
  response.end(
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`,
  );
}

function answerS3(request: IncomingMessage, response: ServerResponse): void {
  request.resume();
  if (fake.s3 === 'slowdown') return s3Error(response, 503, 'SlowDown');
  if (fake.s3 === 'internal') return s3Error(response, 500, 'InternalError');
  // 'checkpoint': a shard archived up to CHECKPOINTED_AT; writes succeed.
  if (request.method === 'PUT') {
    response.writeHead(200, { etag: '"2"' });
    return void response.end();
  }
  if (request.method === 'GET' && request.url!.includes('checkpoints/')) {
    response.writeHead(200, { etag: '"1"', 'content-type': 'application/json' });
    return void response.end(
      JSON.stringify({
        version: 1,
        stream: 'orders',
        shardId: 'shardId-000000000000',
        parentShardIds: [],
        lastSequenceNumber: CHECKPOINTED_AT,
        lastArrivalTimestamp: Date.now() - 60_000,
        pending: null,
        shardState: 'open',
        drained: false,
        totals: { records: 1, objects: 1, bytes: 100 },
        updatedAt: new Date().toISOString(),
      }),
    );
  }
  s3Error(response, 404, 'NoSuchKey');
}

function kinesisReply(response: ServerResponse, status: number, body: object): void {
  response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
  response.end(JSON.stringify(body));
}

function answerKinesis(request: IncomingMessage, response: ServerResponse): void {
  request.resume();
  const operation = String(request.headers['x-amz-target'] ?? '').split('.')[1];
  if (fake.kinesis === 'internal')
    return kinesisReply(response, 500, { __type: 'InternalFailure', message: 'x' });
  if (fake.kinesis === 'throttle') {
    return kinesisReply(response, 400, {
      __type: 'ProvisionedThroughputExceededException',
      message: 'Rate exceeded',
    });
  }
  if (fake.kinesis === 'expired') {
    return kinesisReply(response, 400, { __type: 'ExpiredIteratorException', message: 'Iterator expired' });
  }
  // 'gap': the checkpointed record is gone; the shard starts after it.
  if (operation === 'GetShardIterator') return kinesisReply(response, 200, { ShardIterator: 'iterator-1' });
  kinesisReply(response, 200, {
    Records: [
      {
        SequenceNumber: AFTER_A_GAP,
        ApproximateArrivalTimestamp: Date.now() / 1000,
        Data: Buffer.from('{"id":1}').toString('base64'),
        PartitionKey: 'k',
      },
    ],
    NextShardIterator: 'iterator-2',
    MillisBehindLatest: 0,
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Loads a bundled handler in a new process and invokes it once, as the Lambda runtime does. */
const INVOKE = `
const { handler } = require(process.argv[1]);
const context = {
  functionName: 'f', functionVersion: '$LATEST', memoryLimitInMB: '1024', awsRequestId: 'r',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f', logGroupName: 'g',
  logStreamName: 's', callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => 900000,
};
const report = (value) => process.stdout.write('\\nRESULT ' + JSON.stringify(value) + '\\n');
handler(JSON.parse(process.argv[2]), context).then(
  () => report({ errorType: null }),
  // The Node.js runtime's errorType is the error's name.
  (error) => report({ errorType: error.name, errorMessage: error.message }),
);
`;

let childEnv: NodeJS.ProcessEnv;

async function invoke(
  functionName: string,
  event: object,
  env: NodeJS.ProcessEnv = childEnv,
): Promise<{ errorType: string | null; errorMessage?: string }> {
  const file = handlerFiles.get(functionName);
  if (!file) throw new Error(`no bundle for ${functionName}`);
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      ['-e', INVOKE, file, JSON.stringify(event)],
      { env, timeout: 60_000 },
      (error, out) => (error ? reject(error) : resolve(out)),
    ),
  );
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`${functionName} printed no result:\n${stdout}`);
  return JSON.parse(line.slice('RESULT '.length)) as { errorType: string | null; errorMessage?: string };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'reservoir-bundles-'));
  const packageDir = join(work, 'package');
  execFileSync('npx', ['sls', 'package', '--stage', 'dev', '--package', packageDir], {
    cwd: root,
    env: OFFLINE_SLS_ENV,
    timeout: 300_000,
    stdio: 'pipe',
  });
  const template = JSON.parse(
    readFileSync(join(packageDir, 'cloudformation-template-update-stack.json'), 'utf8'),
  ) as {
    Resources: Record<string, { Type: string; Properties: { Handler?: string; Code?: { S3Key?: string } } }>;
  };
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const zipName = String(resource.Properties.Code!.S3Key).split('/').pop()!;
    const functionName = zipName.replace(/\.zip$/, '');
    const entry = `${resource.Properties.Handler!.replace(/\.handler$/, '')}.js`;
    // The whole zip, as Lambda unpacks it: some carry node_modules (DuckDB's native addon).
    const dir = join(work, 'bundles', functionName);
    mkdirSync(dir, { recursive: true });
    execFileSync('unzip', ['-q', join(packageDir, zipName), '-d', dir]);
    handlerFiles.set(functionName, join(dir, entry));
  }
  s3Server = createServer(answerS3);
  kinesisServer = createServer(answerKinesis);
  childEnv = {
    PATH: process.env.PATH,
    AWS_ENDPOINT_URL_S3: await listen(s3Server),
    AWS_ENDPOINT_URL_KINESIS: await listen(kinesisServer),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'fake',
    AWS_SECRET_ACCESS_KEY: 'fake',
    RESERVOIR_BUCKET: 'reservoir-bundle-test',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_METRICS_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}, 300_000);

afterAll(async () => {
  await Promise.all(
    [s3Server, kinesisServer].map(
      (server) => new Promise((resolve) => (server ? server.close(resolve) : resolve(null))),
    ),
  );
  if (work) rmSync(work, { recursive: true, force: true });
});

const archiveShardEvent = {
  runId: 'archive-bundle-test',
  item: {
    stream: 'orders',
    shardId: 'shardId-000000000000',
    parentShardIds: [],
    closed: false,
    retentionHours: 24,
  },
};

describe('error names through the bundled Lambdas', () => {
  it.each([
    ['S3 answers 503 SlowDown', 'ThrottledError', 'slowdown', 'internal'],
    ['S3 answers 500 InternalError', 'ServiceUnavailableError', 'internal', 'internal'],
    ['Kinesis throttles', 'ThrottledError', 'checkpoint', 'throttle'],
    ['Kinesis answers 500', 'ServiceUnavailableError', 'checkpoint', 'internal'],
    ['the iterator expired', 'ExpiredIteratorError', 'checkpoint', 'expired'],
    ['the checkpointed record expired unarchived', 'DataGapError', 'checkpoint', 'gap'],
  ] as const)(
    'given %s, when archiveShard runs, then Lambda reports %s',
    async (_, expected, s3, kinesis) => {
      Object.assign(fake, { s3, kinesis });
      const result = await invoke('archiveShard', archiveShardEvent);
      expect(result.errorType).toBe(expected);
    },
  );

  it.each([
    ['archiveShard', { runId: 7, item: 'not an item' }],
    ['discoverStreams', { runId: 'r1', input: { streams: 3 } }],
    ['planCompaction', { request: 'not a request' }],
    ['validateReplay', { request: 'not a request' }],
  ])(
    'given an input its schema rejects, when %s runs, then Lambda reports ValidationError (not a renamed class)',
    async (functionName, event) => {
      const result = await invoke(functionName, event);
      expect(result.errorType).toBe('ValidationError');
    },
  );

  it('given no RESERVOIR_BUCKET, then a bundled function fails at once with a ConfigError naming it (no default bucket on Lambda)', async () => {
    const withoutBucket = { ...childEnv };
    delete withoutBucket.RESERVOIR_BUCKET;
    const result = await invoke('archiveShard', archiveShardEvent, withoutBucket);
    expect(result).toEqual({
      errorType: 'ConfigError',
      errorMessage: 'Environment variable RESERVOIR_BUCKET is required',
    });
  });

  it('given S3 fails, then every bundled function that reaches S3 reports ServiceUnavailableError, the name the ASL retries', async () => {
    Object.assign(fake, { s3: 'internal', kinesis: 'internal' });
    const types = new Map<string, string | null>();
    for (const functionName of handlerFiles.keys()) {
      types.set(
        functionName,
        (await invoke(functionName, { runId: 'r1', windowId: 'w1', replayId: 'r1' })).errorType,
      );
    }
    const renamed = [...types].filter(([, type]) => type && /^[A-Za-z]+Error\d+$/.test(type));
    expect(renamed).toEqual([]);
    expect([...types].filter(([, type]) => type === 'ServiceUnavailableError').length).toBeGreaterThan(5);
  });
});
