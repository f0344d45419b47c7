// The archive bucket's lifecycle rules, resolved when serverless.yml is packaged:
//
//   LifecycleConfiguration:
//     Rules: ${file(./deploy/lifecycle-rules.cjs):rules}
//
// `rules`: the fixed rules of custom.archiveLifecycleRules, then two rules per stream of the
// `retention` parameter (STREAM=DAYS[:STORAGE_CLASS@DAYS], comma-separated), built by
// src/core/retention.ts — the same code that builds the archive run's rules for tagged streams.
// `streams`: those streams' names, comma-separated (DiscoverStreams leaves their rules alone).
// A malformed parameter fails packaging with a message naming the entry.
'use strict';

const { require: tsxRequire } = require('tsx/cjs/api');

const { parseRetentionParameter, cloudFormationLifecycleRules } = tsxRequire(
  '../src/core/retention.ts',
  module.filename,
);

async function policies(resolveVariable) {
  const text = await resolveVariable('param:retention');
  try {
    return parseRetentionParameter(typeof text === 'string' ? text : String(text ?? ''));
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
