import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, symlinkSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';

// What the tests of the workspace packages (packages/<name>/) share: the lockfile's dependency
// closure, running a command, and packing a package into an app outside the repository.
export const ROOT = join(__dirname, '..', '..');

/** The main package's heavy dependencies: installing a workspace package must bring none of them. */
export const HEAVY_DEPENDENCIES = [
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

export interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  bundleDependencies?: string[];
  bundledDependencies?: string[];
  scripts?: Record<string, string>;
}
interface LockEntry extends Manifest {
  link?: boolean;
  resolved?: string;
}

export const lock = (
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

/** Every package an install of the lockfile entry `start` brings, by name (optional peers are not installed). */
export function dependencyClosure(start: string): Set<string> {
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
export function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  try {
    return execFileSync(command, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

/**
 * A command's stdout, without blocking this process: for a command that talks to an emulator
 * running in this process (run() would block the event loop that emulator answers on).
 */
export function runAsync(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env, encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed:\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * Builds packages/<folder>/, packs it as a registry would serve it (offline: packing asks the
 * registry nothing), and installs the tarball in `app`/node_modules with `dependencies` linked from
 * the repository's node_modules. Returns the packed file paths, sorted.
 */
export function packIntoApp(
  folder: string,
  name: string,
  tmp: string,
  app: string,
  dependencies: string[],
): string[] {
  const packageDir = join(ROOT, 'packages', folder);
  run(process.execPath, [join(ROOT, 'scripts', 'build-package.cjs'), folder], ROOT);
  const [pack] = JSON.parse(
    run('npm', ['pack', '--json', '--ignore-scripts', '--offline', '--pack-destination', tmp], packageDir, {
      ...process.env,
      npm_config_update_notifier: 'false',
    }),
  ) as [{ filename: string; files: { path: string }[] }];
  const installed = join(app, 'node_modules', name);
  mkdirSync(dirname(installed), { recursive: true });
  run('tar', ['-xzf', join(tmp, pack.filename), '-C', tmp], tmp);
  renameSync(join(tmp, 'package'), installed);
  for (const dependency of dependencies) {
    const link = join(app, 'node_modules', dependency);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', dependency), link, 'dir');
  }
  return pack.files.map((file) => file.path).sort();
}

/** Type-checks `file` in `dir` as a strict Node16 TypeScript project would, against @types/node. */
export function typecheck(dir: string, file: string): void {
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
      // Only the file is checked: checking @types/node too would triple the time.
      '--skipLibCheck',
      file,
    ],
    dir,
  );
}

/** Declaration files that a packed declaration file imports and the package lacks. */
export function missingDeclarations(installed: string, packed: string[]): string[] {
  return packed
    .filter((path) => path.endsWith('.d.ts'))
    .flatMap((path) =>
      [...readFileSync(join(installed, path), 'utf8').matchAll(/from '(\.[^']+)'/g)]
        .map((match) => posix.join(posix.dirname(path), `${match[1]}.d.ts`))
        .filter((imported) => !packed.includes(imported)),
    );
}
