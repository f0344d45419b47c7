// Bundles the consumer library (kinesis-reservoir/consumer) to CommonJS for publishing:
// no AWS SDK inside, aws-kinesis-agg left as a dependency.
'use strict';
const { buildSync } = require('esbuild');
const { join } = require('node:path');

const outfile = process.argv[2] ?? join(__dirname, '..', 'dist', 'consumer', 'index.cjs');
buildSync({
  entryPoints: [join(__dirname, '..', 'src', 'consumer', 'index.ts')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['aws-kinesis-agg'],
  outfile,
});
console.log(`consumer library written to ${outfile}`);
