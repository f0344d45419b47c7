// Jest transform: TypeScript and ESM-only dependencies (@middy) to CommonJS with esbuild, the
// same compiler that bundles the Lambdas. Types are checked separately by `npm run typecheck`.
// Shell scripts (deploy/emr/*.sh) are imported as text, as serverless.yml's esbuild loader does.
'use strict';
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const { transformSync } = require('esbuild');

const self = readFileSync(module.filename);

module.exports = {
  // The transform's own text is part of the key: a change to it invalidates jest's cache.
  getCacheKey(source, filename) {
    return createHash('sha1')
      .update(self)
      .update('\0')
      .update(filename)
      .update('\0')
      .update(source)
      .digest('hex');
  },
  process(source, filename) {
    // jest strips a leading #! line before transforming; a script must keep its own.
    if (filename.endsWith('.sh')) source = readFileSync(filename, 'utf8');
    const loader = filename.endsWith('.ts') ? 'ts' : filename.endsWith('.sh') ? 'text' : 'js';
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
