import { prepareQueryWindow } from '../query-window/prepare';
import { queryWindowRuntime } from '../query-window/runtime';
import { configureDrillScript, installDrillScript } from '../query-window/scripts';
import { passThrough, taskHandler } from './shared/task-handler';

/**
 * PrepareQueryWindow: validates the request (schemas/query-window-input.schema.json), checks the
 * tags of its subnet, VPC and security groups (src/query-window/network.ts), finds the
 * streams and the shards whose tail is not archived, writes the window's scripts to its run files
 * and returns the EMR parameters. Nothing is started yet: a failure here costs nothing.
 */
export const handler = taskHandler(
  passThrough<{ request: unknown; windowId: string; startedAt: string }>,
  async (event) => {
    const { store, catalog, network, config } = queryWindowRuntime();
    return prepareQueryWindow(
      { store, catalog, network, read: config, ...config, installDrillScript, configureDrillScript },
      event.request,
      event.windowId,
      event.startedAt,
    );
  },
);
