/**
 * Defaults of local runs, which call the Lambda handlers in this process. They live here, in the
 * local runner, and nowhere else: on Lambda every one of them comes from serverless.yml.
 * - The bucket the embedded S3 emulator creates: on Lambda RESERVOIR_BUCKET is required.
 * - Metrics off: the handlers' EMF lines would mix into the CLI's output and go nowhere (the EMF
 *   tests set the variable).
 * - Handler logs at ERROR unless the caller chose (the CLI silences them without --verbose).
 * Powertools and the configs read these when the handlers first run.
 */
export const LOCAL_BUCKET = 'reservoir-archive';

process.env.RESERVOIR_BUCKET ??= LOCAL_BUCKET;
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
