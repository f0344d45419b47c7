import {
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { Ec2NetworkCatalog } from '../../src/aws/ec2-network';
import { ValidationError } from '../../src/core/errors';
import { checkClusterNetwork, EMR_MANAGED_TAG, type NetworkCatalog } from '../../src/query-window/network';

/** The tags a query window's network needs (AmazonEMRServicePolicy_v2), and the EC2 adapter that reads them. */

const TAG = { Key: EMR_MANAGED_TAG.key, Value: 'true' };
const ec2 = mockClient(EC2Client);

function notFound(name: string): Error {
  const error = new Error(`${name}: not found`);
  error.name = name;
  return error;
}

beforeEach(() => ec2.reset());

describe('query window network', () => {
  it('when everything is wrong at once, then one refusal names every field, resource and the tag', async () => {
    const network: NetworkCatalog = {
      subnet: async (id) => ({ id, vpcId: 'vpc-1', tags: {} }),
      vpc: async (id) => ({ id, tags: { Name: 'x' } }),
      securityGroups: async () => [{ id: 'sg-2', tags: { [EMR_MANAGED_TAG.key]: 'false' } }],
    };
    const refusal = checkClusterNetwork(network, {
      subnetId: 'subnet-1',
      masterInstanceType: 'm5.xlarge',
      coreInstanceType: 'm5.xlarge',
      coreInstanceCount: 2,
      emrManagedMasterSecurityGroup: 'sg-1',
      additionalSlaveSecurityGroups: ['sg-2'],
    });

    await expect(refusal).rejects.toThrow(ValidationError);
    await expect(refusal).rejects.toThrow(
      [
        'field instances.subnetId: subnet subnet-1 is not tagged for-use-with-amazon-emr-managed-policies=true',
        "field instances.subnetId: the subnet's VPC vpc-1 is not tagged for-use-with-amazon-emr-managed-policies=true",
        'field instances.emrManagedMasterSecurityGroup: security group sg-1 does not exist in this account and region',
        'field instances.additionalSlaveSecurityGroups[0]: security group sg-2 is not tagged for-use-with-amazon-emr-managed-policies=true',
      ].join('; '),
    );
  });

  it('when EC2 describes the tagged subnet, VPC and groups, then the adapter reads their tags', async () => {
    ec2
      .on(DescribeSubnetsCommand)
      .resolves({ Subnets: [{ SubnetId: 'subnet-1', VpcId: 'vpc-1', Tags: [TAG] }] });
    ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-1', Tags: [TAG] }] });
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: 'sg-1', Tags: [TAG] }] });
    const catalog = new Ec2NetworkCatalog(new EC2Client({ region: 'us-east-1' }));

    await expect(
      checkClusterNetwork(catalog, {
        subnetId: 'subnet-1',
        masterInstanceType: 'm5.xlarge',
        coreInstanceType: 'm5.xlarge',
        coreInstanceCount: 0,
        additionalMasterSecurityGroups: ['sg-1'],
      }),
    ).resolves.toBeUndefined();
    expect(ec2.commandCalls(DescribeSubnetsCommand)[0]!.args[0].input).toEqual({ SubnetIds: ['subnet-1'] });
  });

  it('when EC2 answers an unknown id with its NotFound error, then the adapter reports it absent, and other errors pass through', async () => {
    ec2.on(DescribeSubnetsCommand).rejects(notFound('InvalidSubnetID.NotFound'));
    ec2.on(DescribeVpcsCommand).rejects(notFound('UnauthorizedOperation'));
    ec2
      .on(DescribeSecurityGroupsCommand, { GroupIds: ['sg-1', 'sg-9'] })
      .rejects(notFound('InvalidGroup.NotFound'))
      .on(DescribeSecurityGroupsCommand, { GroupIds: ['sg-1'] })
      .resolves({ SecurityGroups: [{ GroupId: 'sg-1', Tags: [TAG] }] })
      .on(DescribeSecurityGroupsCommand, { GroupIds: ['sg-9'] })
      .rejects(notFound('InvalidGroup.NotFound'));
    const catalog = new Ec2NetworkCatalog(new EC2Client({ region: 'us-east-1' }));

    expect(await catalog.subnet('subnet-1')).toBeNull();
    await expect(catalog.vpc('vpc-1')).rejects.toThrow('UnauthorizedOperation');
    expect(await catalog.securityGroups(['sg-1', 'sg-9'])).toEqual([
      { id: 'sg-1', tags: { [EMR_MANAGED_TAG.key]: 'true' } },
    ]);
  });
});
