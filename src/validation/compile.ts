import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { ValidationError } from '../core/errors';

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
ajv.addKeyword({ keyword: 'example' });
addFormats(ajv, ['date-time']);

/** "field streams[0]: must match pattern ... (pattern)" — names the field and the rule broken. */
export function describeSchemaError(error: ErrorObject): string {
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join('')
    .replace(/^\./, '');
  let field = path || '(input)';
  if (error.keyword === 'additionalProperties') {
    field = [path, (error.params as { additionalProperty: string }).additionalProperty]
      .filter(Boolean)
      .join('.');
    return `field ${field}: is not allowed (additionalProperties)`;
  }
  if (error.keyword === 'required') {
    field = [path, (error.params as { missingProperty: string }).missingProperty].filter(Boolean).join('.');
    return `field ${field}: is required (required)`;
  }
  return `field ${field}: ${error.message ?? 'is invalid'} (${error.keyword})`;
}

/** Compiles a schema once (cold starts pay for compilation) into an asserting validator. */
export function compileValidator<T>(schema: object, what: string): (value: unknown) => T {
  const validate: ValidateFunction = ajv.compile(schema);
  return (value: unknown): T => {
    if (!validate(value)) {
      const errors = (validate.errors ?? []).map(describeSchemaError);
      throw new ValidationError(`Invalid ${what}: ${errors.join('; ')}`);
    }
    return value as T;
  };
}
