/** Unit, integration, state machine and package tests; one transform for TS and ESM-only deps. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.(t|j|mj)s$': '<rootDir>/test/support/esbuild-transform.cjs',
    // deploy/emr/*.sh, imported as text (the Lambda bundles them with esbuild's text loader).
    '^.+\\.sh$': '<rootDir>/test/support/esbuild-transform.cjs',
  },
  // @middy and dt-sql-parser (with its antlr4-c3) are ESM-only; jest's CommonJS runtime needs them transformed.
  transformIgnorePatterns: ['/node_modules/(?!(@middy|dt-sql-parser|antlr4-c3)/)'],
  setupFiles: ['<rootDir>/test/support/setup.ts'],
  testTimeout: 120000,
};
