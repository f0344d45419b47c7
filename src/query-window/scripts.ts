/**
 * The scripts a query window runs on its EMR cluster (deploy/emr/*.sh, shellchecked), bundled into
 * the prepareQueryWindow Lambda as text by esbuild's text loader (serverless.yml custom.esbuild)
 * and written to the window's run files for each window: the deploy ships them, no separate upload.
 * Required lazily, so that the CLI (run by tsx, which has no text loader) never loads them.
 */
export function installDrillScript(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../../deploy/emr/install-drill.sh') as string;
}

export function configureDrillScript(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../../deploy/emr/configure-drill.sh') as string;
}
