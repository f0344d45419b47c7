/**
 * The environment `sls package` runs in for the package tests: fake credentials (it calls no
 * AWS API when packaging), and the framework's telemetry, notifications and prompts off.
 */
export const OFFLINE_SLS_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  AWS_ACCESS_KEY_ID: 'fake',
  AWS_SECRET_ACCESS_KEY: 'fake',
  AWS_SESSION_TOKEN: undefined,
  AWS_PROFILE: undefined,
  AWS_REGION: 'us-east-1',
  SLS_TELEMETRY_DISABLED: '1',
  SLS_NOTIFICATIONS_MODE: 'off',
  SLS_DEPRECATION_DISABLE: '*',
  SLS_INTERACTIVE_SETUP_DISABLE: '1',
  CI: 'true',
};
