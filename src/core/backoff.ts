/** Exponential backoff with full jitter (between half and all of the ceiling), capped at 10 s. */
export function backoffWithJitter(baseMs: number, attempt: number): number {
  const ceiling = Math.min(10_000, baseMs * 2 ** (attempt - 1));
  return Math.floor(ceiling / 2 + Math.random() * (ceiling / 2));
}
