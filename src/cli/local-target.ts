import { connect } from 'node:net';
import { LOCAL_BUCKET } from '../local/local-env';
import { CommandFailure, info } from './output';

/** Where a `--local` command's SDK clients go: the SDK's standard variables, or AWS itself. */
export interface LocalTarget {
  kinesis: string | null;
  s3: string | null;
  region: string;
  bucket: string;
}

export function localTarget(env: NodeJS.ProcessEnv = process.env): LocalTarget {
  return {
    kinesis: env.AWS_ENDPOINT_URL_KINESIS || env.AWS_ENDPOINT_URL || null,
    s3: env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || null,
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    bucket: env.RESERVOIR_BUCKET || LOCAL_BUCKET,
  };
}

/** One line for stderr, before anything else: a `--local` run against AWS must never be a surprise. */
export function describeLocalTarget(target: LocalTarget): string {
  const where = (service: string, endpoint: string | null) =>
    endpoint ?? `AWS (${service}.${target.region}.amazonaws.com, with your credentials)`;
  return (
    `--local: Kinesis ${where('kinesis', target.kinesis)}, S3 ${where('s3', target.s3)}, ` +
    `bucket ${target.bucket}`
  );
}

const CONNECT_TIMEOUT_MS = 3_000;

/** Resolves when something accepts TCP connections at the endpoint; names it in one line otherwise. */
async function reachable(service: string, variable: string, endpoint: string): Promise<void> {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new CommandFailure(`${variable}=${endpoint} is not a URL`);
  }
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host, port });
    const fail = (why: string) => {
      socket.destroy();
      reject(
        new CommandFailure(
          `cannot reach the ${service} endpoint ${endpoint} (${variable}): ${why}; ` +
            'start the emulators with `reservoir local up`, or point the variable elsewhere',
        ),
      );
    };
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => fail(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`));
    socket.once('error', (error: NodeJS.ErrnoException) => fail(error.code ?? error.message));
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
  });
}

/**
 * Prints where the command will read and write, then checks that the emulator endpoints answer,
 * so that a missing emulator fails in seconds with its name instead of after minutes of retries.
 */
export async function announceLocalTarget(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const target = localTarget(env);
  info(describeLocalTarget(target));
  const kinesisVariable = env.AWS_ENDPOINT_URL_KINESIS ? 'AWS_ENDPOINT_URL_KINESIS' : 'AWS_ENDPOINT_URL';
  const s3Variable = env.AWS_ENDPOINT_URL_S3 ? 'AWS_ENDPOINT_URL_S3' : 'AWS_ENDPOINT_URL';
  await Promise.all([
    target.kinesis ? reachable('Kinesis', kinesisVariable, target.kinesis) : undefined,
    target.s3 ? reachable('S3', s3Variable, target.s3) : undefined,
  ]);
}
