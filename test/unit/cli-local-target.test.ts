import { describeLocalTarget, localTarget } from '../../src/cli/local-target';
import { closestName, editDistance } from '../../src/core/stream-names';

describe('where --local goes', () => {
  it('given no endpoint variables, then it says AWS itself, with the user credentials', () => {
    const line = describeLocalTarget(localTarget({ AWS_REGION: 'eu-west-1' }));
    expect(line).toBe(
      '--local: Kinesis AWS (kinesis.eu-west-1.amazonaws.com, with your credentials), ' +
        'S3 AWS (s3.eu-west-1.amazonaws.com, with your credentials), bucket reservoir-archive',
    );
  });

  it('given AWS_ENDPOINT_URL alone, then it serves both services; the per-service variables win', () => {
    const target = localTarget({
      AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4569',
      RESERVOIR_BUCKET: 'b',
    });
    expect(describeLocalTarget(target)).toBe(
      '--local: Kinesis http://127.0.0.1:4566, S3 http://127.0.0.1:4569, bucket b',
    );
  });
});

describe('did you mean', () => {
  it('counts edits', () => {
    expect(editDistance('ordrs', 'orders')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('given a close name, then it is suggested; a distant one is not', () => {
    const known = ['orders', 'payments', 'order-events'];
    expect(closestName('ordrs', known)).toBe('orders');
    expect(closestName('Payments', known)).toBe('payments');
    expect(closestName('inventory', known)).toBeNull();
    expect(closestName('orders', known)).toBeNull();
  });
});
