#!/usr/bin/env node
'use strict';
// The CLI runs the TypeScript sources through tsx, so the local runner binds the same handler
// code that serverless-esbuild bundles for Lambda.
// The SDK warns on Node 20 (supported by the pinned versions); Lambda runs Node 22.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// The handlers run in this process and log JSON for CloudWatch: a command prints its own one-line
// reason instead, and the handlers' logs only with --verbose or an explicit POWERTOOLS_LOG_LEVEL.
// Set before anything loads: the local runner's defaults apply only where this is unset.
process.env.POWERTOOLS_LOG_LEVEL ??= process.argv.includes('--verbose') ? 'INFO' : 'SILENT';
require('tsx/cjs/api').register();
require('../src/cli/main.ts')
  .main(process.argv)
  .then(() => process.exit(process.exitCode ?? 0));
