import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bashScriptStep, clusterParameters, shellQuote } from '../../src/query-window/emr';
import { resolveQueryWindow } from '../../src/query-window/request';
import { configureDrillScript, installDrillScript } from '../../src/query-window/scripts';

/**
 * The scripts a query window runs on its cluster (deploy/emr/*.sh): checked by shellcheck (which
 * must be installed: .ci/run installs it), run with the arguments the state machine gives them as
 * far as that is possible off EMR, and shipped byte for byte by the Lambda that writes them.
 */

const root = join(__dirname, '..', '..');
const SCRIPTS = ['deploy/emr/install-drill.sh', 'deploy/emr/configure-drill.sh'];

function bash(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync('bash', args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 });
}

describe('query window scripts (deploy/emr)', () => {
  it('when shellcheck reads them, then it finds nothing (info level and up)', () => {
    const version = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
    // Not skipped when missing: install shellcheck (apt-get install -y shellcheck), as .ci/run does.
    expect({ shellcheck: version.error?.message ?? 'installed' }).toEqual({ shellcheck: 'installed' });

    const result = spawnSync('shellcheck', ['--severity=info', '--shell=bash', '--format=gcc', ...SCRIPTS], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('when shellcheck is given a script with a problem, then it reports it (the check is not vacuous)', () => {
    const result = spawnSync('shellcheck', ['--shell=bash', '-'], {
      input: 'cd $1\nrm -rf $dir/*\n',
      encoding: 'utf8',
    });

    expect(result.status).not.toBe(0);
    expect(result.stdout).toContain('SC2086');
  });

  it('when the Lambda bundles the scripts, then they are the repository’s, byte for byte', () => {
    expect(installDrillScript()).toBe(readFileSync(join(root, SCRIPTS[0]!), 'utf8'));
    expect(configureDrillScript()).toBe(readFileSync(join(root, SCRIPTS[1]!), 'utf8'));
    expect(installDrillScript().startsWith('#!/usr/bin/env bash\n')).toBe(true);
  });

  it('when the bootstrap action gets malformed arguments, then it stops with its usage before doing anything', () => {
    for (const args of [
      [],
      ['--version', '1.21'],
      ['--version', '1.21.2', '--plugins', 'https://x', '--cluster-id', 'c'],
      ['--version', '1.21.2', '--plugins', 's3://b/p.conf', '--cluster-id', 'a b'],
      ['--bogus'],
    ]) {
      const result = bash([join(root, SCRIPTS[0]!), ...args]);

      expect({ args, status: result.status, usage: result.stderr.includes('usage:') }).toEqual({
        args,
        status: 2,
        usage: true,
      });
    }
  });

  it('when the bootstrap action gets the arguments the state machine passes, then they pass its checks (and it stops off EMR)', () => {
    const window = resolveQueryWindow(
      { instances: { subnetId: 'subnet-0123456789abcdef0' } },
      { windowId: 'qw-1', openedAt: 0, defaultMinutes: 240, drillVersion: '1.21.2' },
    );
    const [action] = clusterParameters(window, {
      stage: 'dev',
      serviceRole: 's',
      instanceProfile: 'i',
      logUri: 's3://b/logs/',
      installDrillUri: 's3://b/bootstrap/install-drill.sh',
      pluginsUri: "s3://b/o'k/drill/storage-plugins-override.conf",
    }).bootstrapActions;
    // Off EMR there is no /mnt/var/lib/info/job-flow.json: the script fails there, after its checks.
    const result = bash([join(root, SCRIPTS[0]!), ...action!.ScriptBootstrapAction.Args]);

    expect(result.stderr).not.toContain('usage:');
    expect(result.status).not.toBe(2);
    expect(result.status).not.toBe(0);
  });

  it('when the Drill step command runs, then the script gets every argument intact, quotes included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reservoir-step-'));
    try {
      // A fake `aws s3 cp SRC DEST` that copies a local script; the script prints its arguments.
      writeFileSync(join(dir, 'script.sh'), 'for a in "$@"; do printf "<%s>\\n" "$a"; done\n');
      writeFileSync(join(dir, 'aws'), `#!/usr/bin/env bash\ncp ${shellQuote(join(dir, 'script.sh'))} "$5"\n`);
      chmodSync(join(dir, 'aws'), 0o755);
      const args = [
        '--bucket',
        'b',
        '--archive-prefix',
        "o'brien $HOME/archive/",
        '--live-prefix',
        '',
        '--sql',
        's3://b/x y/',
      ];
      const [program, flag, command] = bashScriptStep(
        's3://b/steps/configure-drill.sh',
        `test-${process.pid}.sh`,
        args,
      );
      const result = spawnSync(program!, [flag!, command!], {
        encoding: 'utf8',
        env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
      });

      expect(result.stderr).toBe('');
      expect(result.stdout.trim().split('\n')).toEqual(args.map((a) => `<${a}>`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(`/tmp/reservoir-test-${process.pid}.sh`, { force: true });
    }
  });

  it('when the Drill step gets malformed arguments, then it stops with its usage', () => {
    const result = bash([join(root, SCRIPTS[1]!), '--bucket', 'b', '--sql', 's3://b/no-trailing-slash']);

    expect(result.status).toBe(2);
    expect(result.stderr).toContain('usage:');
  });

  it('when the Drill step finds Parquet, record lines and a live snapshot, then it creates the view over all three, in rank order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reservoir-drill-'));
    const queries: string[] = [];
    // Drill's REST API: /status answers, /query.json records the view statement it is given.
    const drill = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        if (request.url === '/query.json') queries.push((JSON.parse(body) as { query: string }).query);
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify({ queryState: 'COMPLETED' }));
      });
    });
    await new Promise<void>((resolve) => drill.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(drill.address() as AddressInfo).port}`;
      // A fake `aws`: list-objects-v2 finds a key under the prefixes in HAS_OBJECTS; `s3 cp` of
      // records-<sources>.sql writes a statement naming the file it was asked for.
      writeFileSync(
        join(dir, 'aws'),
        [
          '#!/usr/bin/env bash',
          'if [ "$1" = s3api ]; then',
          '  prefix="$6"',
          '  case " $HAS_OBJECTS " in *" $prefix "*) echo "${prefix}x" ;; *) echo None ;; esac',
          'else',
          '  echo "SELECT \'$4\'" > "$5"',
          'fi',
        ].join('\n'),
      );
      // A fake `curl` for the plugin checks (the status check reaches the server above).
      writeFileSync(
        join(dir, 'curl'),
        '#!/usr/bin/env bash\ncase "$*" in *storage/*) echo \'{"config":{"enabled":true}}\' ;; esac\n',
      );
      chmodSync(join(dir, 'aws'), 0o755);
      chmodSync(join(dir, 'curl'), 0o755);
      const run = (hasObjects: string) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(
            'bash',
            [
              join(root, SCRIPTS[1]!),
              ...[
                '--bucket',
                'b',
                '--columnar-prefix',
                'kinesis/columnar/',
                '--archive-prefix',
                'kinesis/archive/',
              ],
              ...[
                '--live-prefix',
                'kinesis/runs/query-window/qw-1/live/',
                '--sql',
                's3://b/drill/',
                '--drill-url',
                url,
              ],
            ],
            {
              env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, HAS_OBJECTS: hasObjects },
              stdio: 'ignore',
            },
          );
          child.on('close', resolve);
        });

      expect(await run('kinesis/columnar/ kinesis/archive/ kinesis/runs/query-window/qw-1/live/')).toBe(0);
      expect(await run('kinesis/archive/')).toBe(0);
      expect(await run('kinesis/columnar/')).toBe(0);
      expect(await run('')).toBe(0);
      expect(queries).toEqual([
        "SELECT 's3://b/drill/records-columnar-archive-live.sql'",
        "SELECT 's3://b/drill/records-archive.sql'",
        "SELECT 's3://b/drill/records-columnar.sql'",
      ]);
    } finally {
      drill.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
