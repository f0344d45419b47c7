import archiveInputSchema from '../../schemas/archive-input.schema.json';
import archiveShardTaskSchema from '../../schemas/archive-shard-task.schema.json';
import { ValidationError } from '../../src/core/errors';
import { compileValidator } from '../../src/validation/compile';

describe('input validation', () => {
  const validateArchiveInput = compileValidator(archiveInputSchema, 'archive input');
  const validateShardTask = compileValidator(archiveShardTaskSchema, 'ArchiveShard input');

  it('accepts the schedule input and a list of streams', () => {
    expect(validateArchiveInput({})).toEqual({});
    expect(validateArchiveInput({ streams: ['orders', 'clicks.v2'] })).toEqual({
      streams: ['orders', 'clicks.v2'],
    });
  });

  it('names the field and the rule for an unknown field', () => {
    expect(() => validateArchiveInput({ stream: 'orders' })).toThrow(
      'field stream: is not allowed (additionalProperties)',
    );
  });

  it('names the array element and the rule for a malformed stream name', () => {
    expect(() => validateArchiveInput({ streams: ['ok', 'bad name'] })).toThrow(
      /field streams\[1\]: must match pattern .* \(pattern\)/,
    );
    expect(() => validateArchiveInput({ streams: ['ok', 'bad name'] })).toThrow(ValidationError);
  });

  it('names a missing nested field', () => {
    expect(() =>
      validateShardTask({ runId: 'r', item: { stream: 's', shardId: 'x', parentShardIds: [] } }),
    ).toThrow('field item.closed: is required (required)');
  });
});
