/**
 * CloudWatch metrics in embedded metric format: one JSON log line per metric set, turned into
 * metrics by CloudWatch Logs with no API call and no IAM permission.
 */
export const METRICS_NAMESPACE = 'Reservoir';

export type MetricUnit = 'Count' | 'Bytes' | 'Milliseconds' | 'Seconds';

export function emitMetric(
  name: string,
  value: number,
  unit: MetricUnit,
  dimensions: Record<string, string>,
  write: (line: string) => void = (line) => console.log(line),
): void {
  write(
    JSON.stringify({
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [
          {
            Namespace: METRICS_NAMESPACE,
            Dimensions: [Object.keys(dimensions)],
            Metrics: [{ Name: name, Unit: unit }],
          },
        ],
      },
      ...dimensions,
      [name]: value,
    }),
  );
}
