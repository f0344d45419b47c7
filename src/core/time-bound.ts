/**
 * A time bound as people type it (`--from`, `--to`, a request's `from` / `to`): a date alone
 * (2026-11-21) is midnight UTC; otherwise anything Date.parse reads as ISO-8601. NaN when neither.
 * One parser for every command, so that a bound `sql` accepts is accepted by replay and compact.
 */
export function parseTimeBound(text: string): number {
  return Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
}
