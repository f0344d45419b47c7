import { CreateStreamCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { KeyStateTracker, type DecodedRecord } from '../../consumer';
import type { ReplaySummary } from '../../core/replay-summary';
import { decodeShardRecords, readUntilCaughtUp, shardIterators } from '../../local/stream-reader';
import { putAll, telemetryRecord } from '../../local/traffic';
import { info } from '../output';
import { replayCommand } from './replay';

const HOSTS = ['spark-1', 'spark-2'];

const hostOf = (record: DecodedRecord) => record.partitionKey.split('/')[0]!;

/**
 * The replay part of `npm start`: a consumer of spark-1/spark-2 machines lost its state. It
 * restarts at the tip of the stream and asks for a replay of those hosts' history into a side
 * stream, while live traffic keeps arriving. It reads the newest live records first and the old
 * replayed ones after — the worst order — and still converges to the state of reading the
 * whole stream in order, because it applies a record only if it is newer than what it holds.
 */
/** Returns how many live records arrived in `source` during the replay (not archived yet). */
export async function demoReplay(kinesis: KinesisClient, source: string): Promise<number> {
  const target = `${source}-replay`;
  await kinesis.send(new CreateStreamCommand({ StreamName: target, ShardCount: 2 }));
  await new Promise((resolve) => setTimeout(resolve, 100));

  info(`\n8. a consumer of ${HOSTS.join(', ')} lost its state: it restarts at the tip of ${source}`);
  const live = await shardIterators(kinesis, source, 'LATEST');

  info(`9. replaying their history (envelope, annotated) into ${target} while live traffic keeps arriving`);
  let producing = true;
  let sent = 0;
  const producer = (async () => {
    while (producing) {
      await putAll(
        kinesis,
        source,
        Array.from({ length: 25 }, (_, i) => telemetryRecord(50_000 + sent + i)),
      );
      sent += 25;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  let summary: ReplaySummary;
  try {
    summary = (await replayCommand({
      local: true,
      stream: source,
      target,
      includeLive: true,
      filter: JSON.stringify({ data: { host: HOSTS } }),
      annotate: ['reason="consumer rebuild"'],
    })) as ReplaySummary;
  } finally {
    producing = false;
    await producer;
  }
  info(`   ${sent} live records arrived during the replay`);

  const liveRecords = decodeShardRecords(await readUntilCaughtUp(kinesis, live), source).filter((r) =>
    HOSTS.includes(hostOf(r)),
  );
  const replayed = decodeShardRecords(
    await readUntilCaughtUp(kinesis, await shardIterators(kinesis, target, 'TRIM_HORIZON')),
    source,
  );

  const state = new Map<string, string>();
  const tracker = new KeyStateTracker();
  let applied = 0;
  for (const record of [...liveRecords, ...replayed]) {
    if (tracker.offer(record, (r) => state.set(r.partitionKey, r.payload.toString('utf8')))) applied += 1;
  }

  const everything = decodeShardRecords(
    await readUntilCaughtUp(kinesis, await shardIterators(kinesis, source, 'TRIM_HORIZON')),
    source,
  );
  const inOrder = new Map<string, string>();
  const reference = new KeyStateTracker();
  for (const record of everything.filter((r) => HOSTS.includes(hostOf(r)))) {
    reference.offer(record, (r) => inOrder.set(r.partitionKey, r.payload.toString('utf8')));
  }
  const converged =
    inOrder.size === state.size && [...inOrder].every(([key, value]) => state.get(key) === value);
  info(
    `10. the consumer read ${liveRecords.length} live records first, then ${replayed.length} replayed ones ` +
      `(${summary.put} put): applied ${applied}, skipped ${liveRecords.length + replayed.length - applied} as not newer`,
  );
  info(
    `    its state for ${state.size} keys ${converged ? 'equals' : 'DIFFERS FROM'} the state of reading the whole stream in order`,
  );
  if (!converged) throw new Error('the cooperating consumer did not converge');
  return sent;
}
