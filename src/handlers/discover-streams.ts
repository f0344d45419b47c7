import archiveInputSchema from '../../schemas/archive-input.schema.json';
import { discoverStreams } from '../archive/discover';
import { archiveRuntime } from '../archive/runtime';
import { compileValidator } from '../validation/compile';
import { taskHandler } from './shared/task-handler';

interface DiscoverStreamsEvent {
  input: { streams?: string[] };
  runId: string;
}

const validateInput = compileValidator<{ streams?: string[] }>(archiveInputSchema, 'archive input');

/** DiscoverStreams: which streams this run archives, and their retention tags. */
export const handler = taskHandler(
  (event: unknown) => {
    const e = event as DiscoverStreamsEvent;
    return { ...e, input: validateInput(e?.input ?? {}) };
  },
  async (event: DiscoverStreamsEvent) => {
    const { catalog, config } = archiveRuntime();
    return discoverStreams(catalog, config.listedStreams, event.input.streams, {
      deployedRetentionStreams: config.deployedRetentionStreams,
      runId: event.runId,
      tombstones: config.tombstones,
    });
  },
);
