import { csvField, renderTextTable, type QueryOutput } from '../sql/engine';
import type { AthenaColumn, AthenaResult } from './query';

/**
 * An Athena result in the formats of the DuckDB engine (`reservoir sql --format table|json|csv`):
 * the same table layout, CSV quoting and JSON shape (one array of row objects; exact integers as
 * numbers, those past 2^53 as strings; timestamps as Athena prints them).
 */

const INTEGER = /^(tinyint|smallint|integer|int|bigint)$/;
const NUMERIC = /^(tinyint|smallint|integer|int|bigint|real|float|double|decimal.*)$/;

function jsonOf(text: string | null, column: AthenaColumn): unknown {
  if (text === null) return null;
  if (INTEGER.test(column.type)) {
    const value = BigInt(text);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : text;
  }
  if (/^(real|float|double)$/.test(column.type)) return Number.isFinite(Number(text)) ? Number(text) : text;
  if (column.type === 'boolean') return text === 'true';
  return text;
}

/** Writes the result; returns the number of rows. */
export async function writeAthenaResult(
  result: AthenaResult,
  output: Exclude<QueryOutput, { format: 'file' }>,
): Promise<number> {
  const { columns } = result;
  let rows = 0;
  if (output.format === 'json') {
    await output.write('[');
    for await (const page of result.rows) {
      let text = '';
      for (const row of page) {
        const object: Record<string, unknown> = {};
        columns.forEach((column, i) => (object[column.name] = jsonOf(row[i] ?? null, column)));
        text += `${rows === 0 ? '\n' : ',\n'}${JSON.stringify(object)}`;
        rows += 1;
      }
      await output.write(text);
    }
    await output.write(rows === 0 ? ']\n' : '\n]\n');
  } else if (output.format === 'csv') {
    await output.write(`${columns.map((c) => csvField(c.name)).join(',')}\n`);
    for await (const page of result.rows) {
      await output.write(page.map((row) => `${row.map((v) => csvField(v)).join(',')}\n`).join(''));
      rows += page.length;
    }
  } else {
    const shown: string[][] = [];
    for await (const page of result.rows)
      for (const row of page) {
        if (shown.length < output.maxRows) shown.push(row.map((v) => v ?? 'NULL'));
        rows += 1;
      }
    await output.write(
      renderTextTable(
        columns.map((c) => c.name),
        columns.map((c) => NUMERIC.test(c.type)),
        shown,
        rows,
        output.maxRows,
        output.maxCellWidth ?? 80,
      ),
    );
  }
  return rows;
}
