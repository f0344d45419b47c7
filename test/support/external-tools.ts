import { spawnSync } from 'node:child_process';

/**
 * Tools the project's machines and CI have preinstalled but npm cannot install (moto_server,
 * cfn-lint: Python). A test that needs one runs when it is there; elsewhere it is skipped with a
 * printed notice, except under CI=true, where a missing tool fails the suite: CI must never pass
 * by skipping the checks closest to AWS.
 */
export function externalTool(command: string, versionArgs: string[], purpose: string): boolean {
  const probe = spawnSync(command, versionArgs, { encoding: 'utf8', timeout: 60_000 });
  if (!probe.error && probe.status === 0) return true;
  const why = probe.error?.message ?? `exit ${probe.status}: ${probe.stderr.trim()}`;
  if (process.env.CI === 'true') {
    throw new Error(`${command} is required under CI=true (${purpose}) but cannot run: ${why}`);
  }
  console.warn(`skipped: ${purpose}: ${command} is not installed here (${why})`);
  return false;
}

/** `describe` when the tool is there, `describe.skip` (after the notice) when it is not. */
export function describeWithTool(command: string, versionArgs: string[], purpose: string): jest.Describe {
  return externalTool(command, versionArgs, purpose) ? describe : describe.skip;
}
