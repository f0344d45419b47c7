/**
 * `npm run bench`: the benchmarks, outside the CLI (nothing in src/ imports bench/). The SDK warns
 * on Node 20 (supported by the pinned versions); Lambda runs Node 22.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';

import('./run')
  .then(({ benchCommand }) => benchCommand())
  .catch((error: unknown) => {
    process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  });
