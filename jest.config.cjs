/** Unit, integration, state machine and package tests; one transform for TS and ESM-only deps. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.(t|j|mj)s$': '<rootDir>/test/support/esbuild-transform.cjs',
  },
  // @middy is ESM-only; jest's CommonJS runtime needs it transformed.
  transformIgnorePatterns: ['/node_modules/(?!(@middy)/)'],
  setupFiles: ['<rootDir>/test/support/setup.ts'],
  testTimeout: 120000,
};
