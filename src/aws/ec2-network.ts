import {
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  type EC2Client,
  type Tag,
} from '@aws-sdk/client-ec2';
import type { NetworkCatalog, Subnet, TaggedResource } from '../query-window/network';

function tagMap(tags: Tag[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

/** EC2 answers an unknown id with an error (InvalidSubnetID.NotFound, ...) rather than an empty list. */
function isNotFound(error: unknown): boolean {
  return /\.NotFound$|\.Malformed$/.test((error as Error).name ?? '');
}

/** NetworkCatalog over the EC2 API (DescribeSubnets, DescribeVpcs, DescribeSecurityGroups). */
export class Ec2NetworkCatalog implements NetworkCatalog {
  constructor(private readonly client: EC2Client) {}

  async subnet(id: string): Promise<Subnet | null> {
    try {
      const { Subnets } = await this.client.send(new DescribeSubnetsCommand({ SubnetIds: [id] }));
      const found = Subnets?.[0];
      return found ? { id, vpcId: found.VpcId ?? '', tags: tagMap(found.Tags) } : null;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async vpc(id: string): Promise<TaggedResource | null> {
    try {
      const { Vpcs } = await this.client.send(new DescribeVpcsCommand({ VpcIds: [id] }));
      const found = Vpcs?.[0];
      return found ? { id, tags: tagMap(found.Tags) } : null;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async securityGroups(ids: string[]): Promise<TaggedResource[]> {
    // One call names every group; a single unknown id fails it, so each is asked for alone then.
    try {
      const { SecurityGroups } = await this.client.send(new DescribeSecurityGroupsCommand({ GroupIds: ids }));
      return (SecurityGroups ?? []).map((g) => ({ id: g.GroupId ?? '', tags: tagMap(g.Tags) }));
    } catch (error) {
      if (!isNotFound(error)) throw error;
      if (ids.length === 1) return [];
      return (await Promise.all(ids.map((id) => this.securityGroups([id])))).flat();
    }
  }
}
