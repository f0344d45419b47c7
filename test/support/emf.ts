import { resetTelemetry } from '../../src/telemetry/powertools';

export type EmfLine = Record<string, unknown> & {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
};

/** Runs `work` with metrics on, returning the EMF lines the real handlers wrote to stdout. */
export async function emfLinesOf(work: () => Promise<unknown>): Promise<EmfLine[]> {
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  resetTelemetry();
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    const text = String(chunk);
    if (text.includes('"_aws"')) lines.push(...text.split('\n').filter(Boolean));
    else write(chunk);
    return true;
  });
  try {
    await work();
  } finally {
    spy.mockRestore();
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    resetTelemetry();
  }
  return lines.map((line) => JSON.parse(line) as EmfLine);
}
