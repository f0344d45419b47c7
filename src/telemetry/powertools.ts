import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

/** The `service` dimension and log key; serverless.yml sets it per stage (reservoir-<stage>). */
export function serviceName(): string {
  return process.env.POWERTOOLS_SERVICE_NAME || 'reservoir';
}
export const METRICS_NAMESPACE = 'Reservoir';

export interface Telemetry {
  logger: Logger;
  metrics: Metrics;
  tracer: Tracer;
}

let instance: Telemetry | undefined;

/**
 * Powertools logger, metrics and tracer, built once per process on first use: their settings
 * (POWERTOOLS_LOG_LEVEL, POWERTOOLS_METRICS_DISABLED, tracing only inside Lambda) are read from
 * the environment at construction, after the local runner has set its quieter defaults.
 */
export function telemetry(): Telemetry {
  instance ??= {
    logger: new Logger({ serviceName: serviceName() }),
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: serviceName() }),
    tracer: new Tracer({ serviceName: serviceName() }),
  };
  return instance;
}

/** Forgets the instances so the next use re-reads the environment (tests). */
export function resetTelemetry(): void {
  instance = undefined;
}
