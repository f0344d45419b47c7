import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OFFLINE_SLS_ENV } from '../support/sls-offline';
import { DUCKDB_FUNCTIONS } from '../support/packaged-template';

/** The functions that read or write Parquet with DuckDB (DESIGN.md "Reading converted hours"). */

/**
 * convertHour, replayItem and compactPartition run DuckDB, a native addon: the zip `sls package` builds must carry
 * @duckdb/node-api and the binding for the Lambda's architecture (x86_64: linux-x64), and load it
 * as Lambda would, from the unzipped package alone. The other functions stay without it.
 */
const root = join(__dirname, '..', '..');
let work: string;
let packageDir: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'reservoir-columnar-bundle-'));
  packageDir = join(work, 'package');
  execFileSync('npx', ['sls', 'package', '--stage', 'dev', '--package', packageDir], {
    cwd: root,
    env: OFFLINE_SLS_ENV,
    timeout: 600_000,
    stdio: 'pipe',
  });
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

const unzip = (name: string) => {
  const dir = join(work, name);
  execFileSync('unzip', ['-q', join(packageDir, `${name}.zip`), '-d', dir]);
  return dir;
};

describe('the packaged convertHour function', () => {
  it('given its zip alone, when Node loads @duckdb/node-api from it, then DuckDB answers SELECT 42', () => {
    const dir = unzip('convertHour');
    expect(existsSync(join(dir, 'node_modules', '@duckdb', 'node-bindings-linux-x64'))).toBe(true);
    const script = `
      const { DuckDBInstance } = require('@duckdb/node-api');
      (async () => {
        const instance = await DuckDBInstance.create(':memory:');
        const connection = await instance.connect();
        const result = await connection.runAndReadAll('SELECT 42 AS answer');
        process.stdout.write(String(result.getRows()[0][0]));
        require('./src/handlers/convert-hour.js');
      })().catch((error) => { console.error(error); process.exit(1); });`;
    const out = execFileSync(process.execPath, ['-e', script], {
      cwd: dir,
      env: { PATH: process.env.PATH, NODE_PATH: '' },
      encoding: 'utf8',
    });
    expect(out).toBe('42');
  });

  it.each(['replayItem', 'compactPartition'])(
    'given the %s zip alone, then it carries the linux-x64 binding',
    (name) => {
      const dir = unzip(name);
      expect(existsSync(join(dir, 'node_modules', '@duckdb', 'node-bindings-linux-x64'))).toBe(true);
    },
  );

  it('given the other functions, then none carries DuckDB', () => {
    const zips = readdirSync(packageDir).filter(
      (f) => f.endsWith('.zip') && !DUCKDB_FUNCTIONS.includes(f.replace(/\.zip$/, '')),
    );
    expect(zips.length).toBeGreaterThan(10);
    for (const zip of zips) {
      const listing = execFileSync('unzip', ['-Z1', join(packageDir, zip)], { encoding: 'utf8' });
      expect({ zip, duckdb: listing.includes('@duckdb/') }).toEqual({ zip, duckdb: false });
    }
  });
});
