import { queryWindowRuntime } from '../query-window/runtime';
import { storeWindowToken, type WindowEndpoints } from '../query-window/window';
import { passThrough, taskHandler } from './shared/task-handler';

/**
 * StoreQueryWindowToken: the Lambda of WaitForClose (lambda:invoke.waitForTaskToken). Stores the
 * task token for `reservoir query-window close` and marks the window open; the state machine then
 * waits until the token comes back or the window's TimeoutSecondsPath ends it.
 */
export const handler = taskHandler(
  passThrough<{ windowId: string; token: string; endpoints: WindowEndpoints; timeoutSeconds: number }>,
  async (event) => {
    const { store, config, sender } = queryWindowRuntime();
    return storeWindowToken({ store, prefix: config.prefix, sender, now: () => new Date() }, event);
  },
);
