/**
 * Local runs call the Lambda handlers in this process: their EMF metric lines would mix into
 * the CLI's output and go nowhere, so metrics are off unless the caller set the variable
 * (the EMF tests do). Powertools reads these when the handlers first build their telemetry.
 */
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
export {};
