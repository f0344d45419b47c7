import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { stackOutputs } from '../../src/cli/deployed';

// No AWS here: the missing stack is CloudFormation's answer, played by a double.
const cloudformation = mockClient(CloudFormationClient);

describe('a missing deployed stack', () => {
  beforeEach(() => {
    cloudformation.reset();
    cloudformation.on(DescribeStacksCommand).rejects(new Error('Stack with id reservoir-dev does not exist'));
  });

  it('given a command that has --local, then the message suggests it', async () => {
    await expect(stackOutputs('dev')).rejects.toThrow(
      'cannot read stack reservoir-dev: Stack with id reservoir-dev does not exist (deploy with `npx sls deploy --stage dev`, or use --local)',
    );
  });

  it('given query-window, which exists only on AWS, then it suggests no --local', async () => {
    const failure = await stackOutputs('dev', '').catch((error: Error) => error);
    expect((failure as Error).message).toBe(
      'cannot read stack reservoir-dev: Stack with id reservoir-dev does not exist (deploy with `npx sls deploy --stage dev`)',
    );
  });
});
