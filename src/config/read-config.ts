import { ConfigError } from '../core/errors';
import { parseReadShare, type ReadDefaults } from '../core/read-policy';
import type { ShardReadSettings } from '../reading/shard-read';
import { envInt, envList, envNumber, envString } from './env';

const MIB = 1024 * 1024;

/** How every workflow reads shards: the reader's settings and the per-stream read policy's inputs. */
export interface ReadConfig extends ShardReadSettings, ReadDefaults {
  /** The enhanced fan-out consumer reservoir registers on a stream (`reservoir-<stage>`). */
  efoConsumerName: string;
}

/** RESERVOIR_READ_SHARES: `stream=share,…` (deployment parameter readShares). */
function sharesFromEnv(): Record<string, number> {
  const shares: Record<string, number> = {};
  for (const entry of envList('RESERVOIR_READ_SHARES')) {
    const [stream, raw, extra] = entry.split('=').map((part) => part.trim());
    const share = raw === undefined ? null : parseReadShare(raw);
    if (!stream || share === null || extra !== undefined) {
      throw new ConfigError(
        `Environment variable RESERVOIR_READ_SHARES: "${entry}" is not stream=share with a share in (0, 1]`,
      );
    }
    shares[stream] = share;
  }
  return shares;
}

export function loadReadConfig(): ReadConfig {
  return {
    getRecordsLimit: envInt('RESERVOIR_GETRECORDS_LIMIT', 10_000, 1),
    throttleAttempts: envInt('RESERVOIR_THROTTLE_ATTEMPTS', 6, 1),
    throttleBaseDelayMs: envInt('RESERVOIR_THROTTLE_BASE_DELAY_MS', 250),
    defaultRate: {
      callsPerSecond: envNumber('RESERVOIR_READ_CALLS_PER_SECOND', 1, { max: 5 }),
      bytesPerSecond: envNumber('RESERVOIR_READ_MB_PER_SECOND', 1, { max: 2 }) * MIB,
    },
    shares: sharesFromEnv(),
    efoStreams: envList('RESERVOIR_EFO_STREAMS'),
    efoConsumerName: `reservoir-${envString('RESERVOIR_STAGE', 'local')}`,
  };
}
