import { mapWithConcurrency } from '../core/concurrency';
import type { ObjectStore } from '../core/ports';
import { queryWindowFiles } from './files';

/**
 * A query window's life as seen from S3 (status.json, token.json, close-request.json), shared by
 * the handlers and `reservoir query-window open|close|status`.
 */

export type WindowPhase = 'opening' | 'open' | 'closed' | 'timed-out' | 'failed';

export interface WindowEndpoints {
  clusterId: string;
  clusterName: string;
  masterAddress: string;
  drillWebUrl: string;
  drillJdbcUrl: string;
  hiveJdbcUrl: string;
  ports: { drillWeb: number; drillJdbc: number; hiveServer2: number };
}

export interface WindowStatus {
  windowId: string;
  phase: WindowPhase;
  clusterName?: string;
  streams?: string[];
  openedAt?: string;
  durationMinutes?: number;
  /** When the window closes by itself (set once it is open). */
  closesBy?: string;
  endpoints?: WindowEndpoints;
  endedAt?: string;
  error?: { Error: string; Cause: string };
  warnings?: string[];
  updatedAt?: string;
}

export interface StoredToken {
  token: string;
  storedAt: string;
}

/** What the SFN client must do for a window: SendTaskSuccess (the CLI's adapter, or a local one in tests). */
export interface TaskTokenSender {
  sendTaskSuccess(token: string, output: unknown): Promise<void>;
}

/** A token that is no longer waiting (the window closed already, or timed out). */
export class TaskNoLongerWaitingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskNoLongerWaitingError';
  }
}

export async function writeStatus(store: ObjectStore, key: string, status: WindowStatus): Promise<void> {
  const previous = (await store.getJson<WindowStatus>(key))?.value;
  await store.putJson(key, { ...previous, ...status, updatedAt: new Date().toISOString() });
}

export async function readStatus(
  store: ObjectStore,
  prefix: string,
  windowId: string,
): Promise<WindowStatus | null> {
  return (await store.getJson<WindowStatus>(queryWindowFiles(prefix, windowId).status))?.value ?? null;
}

/**
 * StoreQueryWindowToken (the Lambda of WaitForClose, a .waitForTaskToken Task): keeps the token
 * where `query-window close` finds it, marks the window open, and closes it at once when a close
 * was requested while it was still opening.
 */
export async function storeWindowToken(
  deps: { store: ObjectStore; prefix: string; sender: TaskTokenSender; now: () => Date },
  event: { windowId: string; token: string; endpoints: WindowEndpoints; timeoutSeconds: number },
): Promise<{ closedAtOnce: boolean }> {
  const files = queryWindowFiles(deps.prefix, event.windowId);
  const now = deps.now();
  const token: StoredToken = { token: event.token, storedAt: now.toISOString() };
  await deps.store.putJson(files.token, token);
  await writeStatus(deps.store, files.status, {
    windowId: event.windowId,
    phase: 'open',
    endpoints: event.endpoints,
    closesBy: new Date(now.getTime() + event.timeoutSeconds * 1000).toISOString(),
  });
  // The close request is read after the token is written, and `close` writes its request before
  // it reads the token: whichever comes second sees the other.
  const request = await deps.store.getJson<{ requestedAt: string }>(files.closeRequest);
  if (!request) return { closedAtOnce: false };
  await sendClose(deps.sender, event.token, {
    closedBy: 'close-request',
    requestedAt: request.value.requestedAt,
  });
  return { closedAtOnce: true };
}

async function sendClose(sender: TaskTokenSender, token: string, output: object): Promise<boolean> {
  try {
    await sender.sendTaskSuccess(token, { ...output, closedAt: new Date().toISOString() });
    return true;
  } catch (error) {
    if (error instanceof TaskNoLongerWaitingError) return false;
    throw error;
  }
}

export type CloseOutcome = 'closing' | 'close-requested' | 'already-closed' | 'not-found';

/**
 * `reservoir query-window close`: sends the window's task token back (WaitForClose succeeds, the
 * state machine terminates the cluster). A window still opening gets a close request instead,
 * which StoreQueryWindowToken honours as soon as it opens.
 */
export async function closeQueryWindow(
  deps: { store: ObjectStore; prefix: string; sender: TaskTokenSender },
  windowId: string,
): Promise<CloseOutcome> {
  const files = queryWindowFiles(deps.prefix, windowId);
  const status = (await deps.store.getJson<WindowStatus>(files.status))?.value;
  if (!status) return 'not-found';
  if (status.phase !== 'opening' && status.phase !== 'open') return 'already-closed';
  let token = (await deps.store.getJson<StoredToken>(files.token))?.value;
  if (!token) {
    await deps.store.putJson(files.closeRequest, { requestedAt: new Date().toISOString() });
    token = (await deps.store.getJson<StoredToken>(files.token))?.value;
    if (!token) return 'close-requested';
  }
  const sent = await sendClose(deps.sender, token.token, { closedBy: 'reservoir query-window close' });
  return sent ? 'closing' : 'already-closed';
}

/**
 * CleanupQueryWindow: after the cluster is terminated (or never started), removes the live
 * snapshot, its progress, Drill's views, the token and any close request, and records how the
 * window ended. The scripts, request and EMR logs stay until the run files expire.
 */
export async function cleanupQueryWindow(
  deps: { store: ObjectStore; prefix: string; now: () => Date },
  event: {
    windowId: string;
    error?: { Error: string; Cause: string } | null;
    timedOut?: unknown;
    terminateError?: { Error: string; Cause: string } | null;
    clusterId?: string | null;
  },
): Promise<{ phase: WindowPhase; removed: number }> {
  const files = queryWindowFiles(deps.prefix, event.windowId);
  const temporary = (
    await mapWithConcurrency([files.live, `${files.root}live-progress/`, files.drillViews], 3, (prefix) =>
      deps.store.listKeys(prefix),
    )
  ).flat();
  const keys = [...temporary, files.token, files.closeRequest];
  for (let i = 0; i < keys.length; i += 1000) await deps.store.deleteKeys(keys.slice(i, i + 1000));
  const failure = event.terminateError
    ? {
        Error: 'ClusterNotTerminated',
        Cause: `cluster ${event.clusterId ?? '(unknown)'} may still be running: ${event.terminateError.Cause}`,
      }
    : (event.error ?? null);
  const phase: WindowPhase = failure ? 'failed' : event.timedOut ? 'timed-out' : 'closed';
  await writeStatus(deps.store, files.status, {
    windowId: event.windowId,
    phase,
    endedAt: deps.now().toISOString(),
    ...(failure ? { error: { Error: failure.Error, Cause: failure.Cause } } : {}),
  });
  return { phase, removed: temporary.length };
}
