// Builds a workspace package, packages/<name>/, from its one source, src/<name>/index.ts:
// - dist/index.cjs: CommonJS bundled by esbuild; the source's own modules (and the src/core/
//   ones they import) are inlined, every npm package stays a require(): those are the package's
//   dependencies, declared in packages/<name>/package.json;
// - dist/types/: the declarations tsc emits for that entry, with the settings of tsconfig.json
//   (dist/types/<name>/index.d.ts is the package's `types`).
//
//     node scripts/build-package.cjs consumer
'use strict';
const { buildSync } = require('esbuild');
const ts = require('typescript');
const { existsSync, rmSync } = require('node:fs');
const { join, relative } = require('node:path');

const root = join(__dirname, '..');
const name = process.argv[2];
if (!name || !existsSync(join(root, 'packages', name, 'package.json'))) {
  console.error('usage: node scripts/build-package.cjs <name>   (a folder of packages/)');
  process.exit(2);
}
const entry = join(root, 'src', name, 'index.ts');
const dist = join(root, 'packages', name, 'dist');
rmSync(dist, { recursive: true, force: true });

buildSync({
  entryPoints: [entry],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  outfile: join(dist, 'index.cjs'),
  logLevel: 'warning',
});

const { config } = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
const { options } = ts.parseJsonConfigFileContent(config, ts.sys, root);
const program = ts.createProgram([entry], {
  ...options,
  noEmit: false,
  declaration: true,
  emitDeclarationOnly: true,
  rootDir: join(root, 'src'),
  outDir: join(dist, 'types'),
  types: ['node'],
});
const emitted = program.emit();
const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics];
if (diagnostics.length > 0 || emitted.emitSkipped) {
  console.error(
    ts.formatDiagnostics(diagnostics, {
      getCanonicalFileName: (file) => file,
      getCurrentDirectory: () => root,
      getNewLine: () => '\n',
    }),
  );
  process.exit(1);
}
console.log(`${relative(root, dist)}/ written (index.cjs, types/)`);
