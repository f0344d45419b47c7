import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { OFFLINE_SLS_ENV } from './sls-offline';

/**
 * The CloudFormation template `sls package --stage dev` compiles, shared by the package tests of
 * one jest run: packaging takes about a minute, so each distinct set of parameters is packaged
 * once per run (into its own --package directory, so that runs never fight over .serverless/)
 * and only the template is kept, in a file named after this process. Files of runs that have
 * ended are removed by the next run.
 */

/** Every parameter of serverless.yml `params.default` set to a valid value that is not its default. */
/** The functions that read or write Parquet: their zips carry DuckDB's native addon in node_modules. */
export const DUCKDB_FUNCTIONS: readonly string[] = ['convertHour', 'replayItem', 'compactPartition'];

export const ALL_PARAMETERS: Readonly<Record<string, string>> = {
  archiveSchedule: 'rate(2 hours)',
  archiveStreams: 'orders,payments',
  archivePrefix: 'kinesis/',
  replayTargets: 'orders,replica-*',
  retention: 'orders=30,payments=365:STANDARD_IA@30',
  latestTombstones: '{"orders":{"data":{"op":["delete"]}}}',
  bucketName: 'reservoir-test-archive',
  logRetentionDays: '90',
  drillVersion: '1.21.1',
  queryWindowMinutes: '120',
  alarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:ops-pager',
  alarmTopicEncryption: 'none',
  timeToLossAlarmPercent: '40',
  archiveSilenceAlarmHours: '6',
  readShares: 'orders=0.5,payments=0.25',
  efoStreams: 'payments',
  athenaBytesScannedCutoff: '50000000000',
  streamKmsKeyArns:
    'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab,arn:aws:kms:us-east-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef',
};

const root = join(__dirname, '..', '..');
const CACHE_PREFIX = 'reservoir-packaged-template-';

function slsPackage(dir: string, params: Readonly<Record<string, string>>): void {
  const args = Object.entries(params).flatMap(([name, value]) => ['--param', `${name}=${value}`]);
  execFileSync('npx', ['sls', 'package', '--stage', 'dev', '--package', dir, ...args], {
    cwd: root,
    env: OFFLINE_SLS_ENV,
    timeout: 300_000,
    stdio: 'pipe',
  });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function removeFilesOfEndedRuns(): void {
  for (const name of readdirSync(tmpdir())) {
    const pid = Number(name.startsWith(CACHE_PREFIX) ? name.slice(CACHE_PREFIX.length).split('-')[0] : NaN);
    if (Number.isInteger(pid) && !isRunning(pid)) rmSync(join(tmpdir(), name), { force: true });
  }
}

/** The path of the template packaged with these parameters (packaged now unless this run already has it). */
export function packagedTemplatePath(params: Readonly<Record<string, string>> = {}): string {
  const key = createHash('sha256')
    .update(JSON.stringify(Object.entries(params).sort()))
    .digest('hex')
    .slice(0, 16);
  const path = join(tmpdir(), `${CACHE_PREFIX}${process.pid}-${key}.json`);
  if (existsSync(path)) return path;
  removeFilesOfEndedRuns();
  const dir = mkdtempSync(join(tmpdir(), 'reservoir-package-'));
  try {
    slsPackage(dir, params);
    copyFileSync(join(dir, 'cloudformation-template-update-stack.json'), path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return path;
}

/** The template packaged with these parameters, parsed. */
export function packagedTemplate<T>(params: Readonly<Record<string, string>> = {}): T {
  return JSON.parse(readFileSync(packagedTemplatePath(params), 'utf8')) as T;
}

/** What `sls package` printed when it failed with these parameters (it must fail). */
export function failedPackageOutput(params: Readonly<Record<string, string>>): string {
  const dir = mkdtempSync(join(tmpdir(), 'reservoir-package-'));
  try {
    slsPackage(dir, params);
  } catch (error) {
    const e = error as { stdout?: Buffer; stderr?: Buffer };
    return `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  throw new Error(`sls package succeeded with ${JSON.stringify(params)}`);
}
