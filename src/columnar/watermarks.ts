import { columnarWatermarkKey, isColumnarWatermark, type ColumnarWatermark } from '../core/columnar';
import { mapWithConcurrency } from '../core/concurrency';
import type { ObjectStore } from '../core/ports';

/** The streams' conversion watermarks (DESIGN.md "Columnar archive"), those that exist and parse. */
export async function readWatermarks(
  store: ObjectStore,
  prefix: string,
  streams: readonly string[],
): Promise<Map<string, number>> {
  const stored = await mapWithConcurrency(streams, 16, (stream) =>
    store.getJson<unknown>(columnarWatermarkKey(prefix, stream)),
  );
  const watermarks = new Map<string, number>();
  streams.forEach((stream, i) => {
    const value = stored[i]?.value;
    if (isColumnarWatermark(value) && value.stream === stream) watermarks.set(stream, value.watermarkMs);
  });
  return watermarks;
}

export async function writeWatermarks(
  store: ObjectStore,
  prefix: string,
  watermarks: ReadonlyMap<string, number>,
  now = new Date(),
): Promise<void> {
  await mapWithConcurrency([...watermarks], 16, ([stream, watermarkMs]) => {
    const watermark: ColumnarWatermark = { stream, watermarkMs, plannedAt: now.toISOString() };
    return store.putJson(columnarWatermarkKey(prefix, stream), watermark);
  });
}
