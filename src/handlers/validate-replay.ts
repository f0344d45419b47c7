import replayRequestSchema from '../../schemas/replay-request.schema.json';
import { compactionRequestFor, type ReplayRequest } from '../core/replay-request';
import { replayRuntime } from '../replay/runtime';
import { startReplay } from '../replay/start-replay';
import { compileValidator } from '../validation/compile';
import { taskHandler } from './shared/task-handler';

const validateRequest = compileValidator<ReplayRequest>(replayRequestSchema, 'replay request');

/** ValidateReplay: the request against its schema and the deployment (allow-list, target exists). */
export const handler = taskHandler(
  (event: unknown) => validateRequest((event as { request?: unknown })?.request),
  async (request: ReplayRequest) => {
    const { store, writer, catalog, config } = replayRuntime();
    const { replay, resumed } = await startReplay(
      {
        store,
        writer,
        catalog,
        read: config,
        prefix: config.prefix,
        replayTargets: config.replayTargets,
        now: new Date(),
      },
      request,
    );
    return {
      replayId: replay.replayId,
      stream: replay.stream,
      target: replay.target,
      from: new Date(replay.fromMs).toISOString(),
      to: new Date(replay.toMs).toISOString(),
      format: replay.format,
      includeLive: replay.includeLive,
      compact: replay.compact,
      // The compact state machine's input, ready made: ASL cannot leave out absent fields.
      compactRequest: replay.compact ? compactionRequestFor(replay, config.prefix) : null,
      resumed,
    };
  },
);
