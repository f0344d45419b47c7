import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import jest from 'eslint-plugin-jest';

// Which modules may import which (docs/DESIGN.md "Code layout"). One list per kind of file: a
// later config object replaces an earlier one's no-restricted-imports for the same files.
const NO_BENCH = {
  group: ['**/bench', '**/bench/*'],
  message: 'src/ never imports bench/: benchmarks import the product, not the other way round',
};
const NO_AWS_SDK = {
  group: ['@aws-sdk/*', '@smithy/*', 'aws-sdk', '@aws-lambda-powertools/*', '**/aws/*'],
  message: 'core/ and consumer/ are pure: the AWS SDK and its adapters stay in src/aws/ and the handlers',
};
// A workspace package (packages/<name>/) bundles src/<name>/ and the core it imports; every npm
// package they import stays a require() of the published package, so it must be one of its
// declared dependencies (test/package/consumer-package.test.ts checks the built package too).
const ONLY_CONSUMER_DEPENDENCIES = {
  regex: '^(?!\\.|node:|aws-kinesis-agg$)',
  message:
    'consumer/ imports only packages/consumer/package.json dependencies (aws-kinesis-agg) and node: modules',
};
// The producer (packages/producer/) may use the SDK's Kinesis client (its peer dependency) and
// the error translation of src/aws/errors.ts, which is pure; not the adapters built on clients.ts.
const ONLY_PRODUCER_DEPENDENCIES = {
  regex: '^(?!\\.|node:|aws-kinesis-agg$|@aws-sdk/client-kinesis$)',
  message:
    'producer/ imports only packages/producer/package.json dependencies (aws-kinesis-agg, peer @aws-sdk/client-kinesis) and node: modules',
};
const NO_AWS_ADAPTERS = {
  group: ['**/aws/*', '!**/aws/errors'],
  message: 'producer/ uses no src/aws/ adapter (they need the main package); src/aws/errors is pure',
};
const NO_OTHER_HANDLER = {
  group: ['./*', '!./shared'],
  message: 'a handler never imports another handler: share through src/handlers/shared/ or the core',
};
const restrict = (...patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

export default tseslint.config(
  { ignores: ['node_modules', '.serverless', '.esbuild', '.reservoir', 'coverage', 'scratch', '**/dist'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['test/**/*.ts'],
    plugins: { jest },
    rules: {
      'jest/no-focused-tests': 'error',
      'jest/no-disabled-tests': 'error',
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        __dirname: 'readonly',
        console: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  { files: ['src/**/*.ts'], rules: restrict(NO_BENCH) },
  { files: ['src/core/**/*.ts'], rules: restrict(NO_BENCH, NO_AWS_SDK) },
  { files: ['src/consumer/**/*.ts'], rules: restrict(NO_BENCH, NO_AWS_SDK, ONLY_CONSUMER_DEPENDENCIES) },
  { files: ['src/producer/**/*.ts'], rules: restrict(NO_BENCH, NO_AWS_ADAPTERS, ONLY_PRODUCER_DEPENDENCIES) },
  {
    files: ['src/handlers/*.ts'],
    // The registry binds every handler for the local runner: importing them is its job.
    ignores: ['src/handlers/registry.ts'],
    rules: restrict(NO_BENCH, NO_OTHER_HANDLER),
  },
);
