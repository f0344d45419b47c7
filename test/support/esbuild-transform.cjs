// Jest transform: TypeScript and ESM-only dependencies (@middy) to CommonJS with esbuild, the
// same compiler that bundles the Lambdas. Types are checked separately by `npm run typecheck`.
'use strict';
const { transformSync } = require('esbuild');

module.exports = {
  process(source, filename) {
    const loader = filename.endsWith('.ts') ? 'ts' : 'js';
    const { code, map } = transformSync(source, {
      loader,
      format: 'cjs',
      target: 'node20',
      sourcemap: 'inline',
      sourcefile: filename,
      supported: { 'dynamic-import': false },
    });
    return { code, map };
  },
};
