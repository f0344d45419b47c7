import { ConfigError } from '../core/errors';

/** Helpers that read one environment variable and throw a clear error when it is malformed. */
export function envString(name: string, fallback?: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    if (fallback !== undefined) return fallback;
    throw new ConfigError(`Environment variable ${name} is required`);
  }
  return value;
}

export function envInt(name: string, fallback: number, min = 0): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(`Environment variable ${name} must be an integer >= ${min}, got "${raw}"`);
  }
  return value;
}

export function envList(name: string): string[] {
  return (process.env[name] ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/** A number in (min, max]: e.g. a rate or a share. */
export function envNumber(name: string, fallback: number, { min = 0, max = Infinity } = {}): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= min || value > max) {
    const range = max === Infinity ? `> ${min}` : `> ${min} and <= ${max}`;
    throw new ConfigError(`Environment variable ${name} must be a number ${range}, got "${raw}"`);
  }
  return value;
}
