import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The README's settings table is the list of RESERVOIR_* environment variables: every variable
 * the code reads is in it, and every variable in it is read somewhere. A variable added to the
 * code without a row, or a row left behind by a removed variable, fails here.
 */

const root = join(__dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Names the code reads: a quoted 'RESERVOIR_X' (the env helpers) or process.env.RESERVOIR_X. */
function readByTheCode(): Set<string> {
  const names = new Set<string>();
  for (const file of sourceFiles(join(root, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:'|process\.env\.)(RESERVOIR_[A-Z0-9_]+)\b/g)) names.add(match[1]!);
  }
  return names;
}

/** Names in the first column of the README's settings table. */
function documentedInTheReadme(): Set<string> {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  return new Set([...readme.matchAll(/^\| `(RESERVOIR_[A-Z0-9_]+)` \|/gm)].map((match) => match[1]!));
}

describe('the settings table of the README', () => {
  const read = readByTheCode();
  const documented = documentedInTheReadme();

  it('given the variables the code reads, then each has a row', () => {
    expect([...read].filter((name) => !documented.has(name)).sort()).toEqual([]);
  });

  it('given the rows, then each names a variable the code reads', () => {
    expect([...documented].filter((name) => !read.has(name)).sort()).toEqual([]);
  });

  it('is not vacuous', () => {
    expect(read.size).toBeGreaterThan(20);
  });
});
