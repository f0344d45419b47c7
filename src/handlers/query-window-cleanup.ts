import { queryWindowRuntime } from '../query-window/runtime';
import { cleanupQueryWindow } from '../query-window/window';
import { passThrough, taskHandler } from './shared/task-handler';

type Failure = { Error: string; Cause: string };

/**
 * The execution's state when CleanupQueryWindow runs: the ASL passes it whole (JSONPath cannot
 * pass fields that may be absent), and how the window ended is read from what is there.
 */
interface CleanupEvent {
  windowId: string;
  state: {
    error?: Failure;
    findError?: Failure;
    timedOut?: unknown;
    terminateError?: Failure;
    cluster?: { clusterId?: string | null };
  };
}

/** CleanupQueryWindow: after TerminateCluster, removes the live snapshot and the token; records how the window ended. */
export const handler = taskHandler(passThrough<CleanupEvent>, async (event) => {
  const { store, config } = queryWindowRuntime();
  const { state } = event;
  return cleanupQueryWindow(
    { store, prefix: config.prefix, now: () => new Date() },
    {
      windowId: event.windowId,
      error: state.error ?? state.findError ?? null,
      timedOut: state.timedOut,
      terminateError: state.terminateError ?? null,
      clusterId: state.cluster?.clusterId ?? null,
    },
  );
});
