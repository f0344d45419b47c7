const DATE_ALONE = /^\d{4}-\d{2}-\d{2}$/;
/** RFC 3339 / ISO-8601 with a zone: what the request schemas' `date-time` format takes. */
const INSTANT = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * A time bound as people type it (`--from`, `--to`): a date alone (2026-11-21) is midnight UTC;
 * otherwise an ISO-8601 instant with its zone (Z or ±hh:mm). NaN for anything else: a time
 * without a zone would be read in the machine's zone and move a replay's window.
 * One parser for every command, so that a bound `sql` accepts is accepted by replay and compact.
 */
export function parseTimeBound(text: string): number {
  if (DATE_ALONE.test(text)) return Date.parse(`${text}T00:00:00Z`);
  return INSTANT.test(text) ? Date.parse(text) : Number.NaN;
}

/** The bound as a request's `from` / `to` (ISO-8601): a date alone gets midnight UTC, the rest stays as typed. */
export function timeBoundField(text: string): string {
  return DATE_ALONE.test(text) ? `${text}T00:00:00Z` : text;
}
