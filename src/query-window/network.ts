import { ValidationError } from '../core/errors';
import type { ResolvedQueryWindow } from './request';

/**
 * The EC2 side of a query window. The cluster's EMR service role has AWS's managed
 * AmazonEMRServicePolicy_v2, which lets EMR launch instances and network interfaces only in a
 * subnet and security groups tagged for-use-with-amazon-emr-managed-policies=true, and create its
 * default managed security groups only in a VPC so tagged. An untagged one makes RunJobFlow fail
 * after the state machine has started - or leaves the cluster stuck in STARTING - so
 * PrepareQueryWindow checks the tags first, when a failure still costs nothing.
 */

export const EMR_MANAGED_TAG = { key: 'for-use-with-amazon-emr-managed-policies', value: 'true' } as const;

export interface TaggedResource {
  id: string;
  tags: Readonly<Record<string, string>>;
}

export interface Subnet extends TaggedResource {
  vpcId: string;
}

/** Reads subnets, VPCs and security groups (ec2:DescribeSubnets, DescribeVpcs, DescribeSecurityGroups). */
export interface NetworkCatalog {
  /** null when no such subnet exists. */
  subnet(id: string): Promise<Subnet | null>;
  /** null when no such VPC exists. */
  vpc(id: string): Promise<TaggedResource | null>;
  /** The groups found; a missing id is left out. */
  securityGroups(ids: string[]): Promise<TaggedResource[]>;
}

/** The security groups of the request, each with the field that names it. */
function namedSecurityGroups(instances: ResolvedQueryWindow['instances']): [string, string][] {
  const named: [string, string | undefined][] = [
    ['instances.emrManagedMasterSecurityGroup', instances.emrManagedMasterSecurityGroup],
    ['instances.emrManagedSlaveSecurityGroup', instances.emrManagedSlaveSecurityGroup],
    ['instances.serviceAccessSecurityGroup', instances.serviceAccessSecurityGroup],
    ...(instances.additionalMasterSecurityGroups ?? []).map((id, i): [string, string] => [
      `instances.additionalMasterSecurityGroups[${i}]`,
      id,
    ]),
    ...(instances.additionalSlaveSecurityGroups ?? []).map((id, i): [string, string] => [
      `instances.additionalSlaveSecurityGroups[${i}]`,
      id,
    ]),
  ];
  return named.filter((entry): entry is [string, string] => entry[1] !== undefined);
}

function isTagged(resource: TaggedResource): boolean {
  return resource.tags[EMR_MANAGED_TAG.key] === EMR_MANAGED_TAG.value;
}

const TAG_TEXT = `${EMR_MANAGED_TAG.key}=${EMR_MANAGED_TAG.value}`;

/**
 * Refuses a window whose subnet, the subnet's VPC, or any security group it names lacks the tag
 * (or does not exist), naming the field, the resource and the tag. Everything wrong is reported at
 * once, so that one round of tagging fixes it.
 */
export async function checkClusterNetwork(
  network: NetworkCatalog,
  instances: ResolvedQueryWindow['instances'],
): Promise<void> {
  const subnetId = instances.subnetId;
  if (!subnetId)
    throw new ValidationError(
      `field instances.subnetId: is required - the cluster runs in a subnet tagged ${TAG_TEXT}`,
    );
  const problems: string[] = [];
  const subnet = await network.subnet(subnetId);
  if (!subnet) {
    problems.push(`field instances.subnetId: subnet ${subnetId} does not exist in this account and region`);
  } else {
    if (!isTagged(subnet))
      problems.push(`field instances.subnetId: subnet ${subnetId} is not tagged ${TAG_TEXT}`);
    const vpc = await network.vpc(subnet.vpcId);
    if (!vpc || !isTagged(vpc))
      problems.push(`field instances.subnetId: the subnet's VPC ${subnet.vpcId} is not tagged ${TAG_TEXT}`);
  }
  const groups = namedSecurityGroups(instances);
  if (groups.length > 0) {
    const found = new Map(
      (await network.securityGroups([...new Set(groups.map(([, id]) => id))])).map((g) => [g.id, g]),
    );
    for (const [field, id] of groups) {
      const group = found.get(id);
      if (!group)
        problems.push(`field ${field}: security group ${id} does not exist in this account and region`);
      else if (!isTagged(group))
        problems.push(`field ${field}: security group ${id} is not tagged ${TAG_TEXT}`);
    }
  }
  if (problems.length > 0)
    throw new ValidationError(
      `${problems.join('; ')} (the EMR service role's AmazonEMRServicePolicy_v2 acts only on tagged resources)`,
    );
}
