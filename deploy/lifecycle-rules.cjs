// The archive bucket's lifecycle rules, resolved when serverless.yml is packaged:
//
//   LifecycleConfiguration:
//     Rules: ${file(./deploy/lifecycle-rules.cjs):rules}
//
// `rules`: the fixed rules of custom.archiveLifecycleRules, then the rules of each stream of the
// `retention` parameter (STREAM=DAYS[:STORAGE_CLASS@DAYS], comma-separated: archive, columnar and
// drained checkpoints) and of the `jsonlDays` parameter (STREAM=DAYS, comma-separated: converted
// JSONL), built by src/core/retention.ts (streamRules) — the same code that builds the archive
// run's rules for tagged streams. `streams`: the streams of either parameter, comma-separated
// (DiscoverStreams leaves their rules alone). A malformed parameter fails packaging with one line
// naming the parameter and the entry.
'use strict';

const { require: tsxRequire } = require('tsx/cjs/api');

const { parseRetentionParameters, cloudFormationLifecycleRules } = tsxRequire(
  '../src/core/retention.ts',
  module.filename,
);

async function policies(resolveVariable) {
  const text = (value) => (typeof value === 'string' ? value : String(value ?? ''));
  const retention = text(await resolveVariable('param:retention'));
  const jsonlDays = text(await resolveVariable('param:jsonlDays'));
  try {
    return parseRetentionParameters(retention, jsonlDays);
  } catch (error) {
    // The framework prints the stack of what a variable resolver throws: keep it to the message.
    const failure = new Error(error.message);
    failure.stack = error.message;
    throw failure;
  }
}

module.exports = {
  rules: async ({ resolveVariable, resolveConfigurationProperty }) => {
    const fixed = (await resolveConfigurationProperty(['custom', 'archiveLifecycleRules'])) ?? [];
    return [...fixed, ...cloudFormationLifecycleRules(await policies(resolveVariable))];
  },
  streams: async ({ resolveVariable }) =>
    (await policies(resolveVariable)).map((policy) => policy.stream).join(','),
};
