/** Runs a CLI command with its stdout and stderr swallowed (tests stay quiet when they pass). */
export async function quietly<T>(call: () => Promise<T>): Promise<T> {
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    return await call();
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}
