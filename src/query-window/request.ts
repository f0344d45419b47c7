import queryWindowSchema from '../../schemas/query-window-input.schema.json';
import { ValidationError } from '../core/errors';
import { compileValidator } from '../validation/compile';

/** The queryWindow state machine's input (schemas/query-window-input.schema.json). */
export interface QueryWindowInput {
  streams?: string[];
  durationMinutes?: number;
  releaseLabel?: string;
  drillVersion?: string;
  live?: 'auto' | 'snapshot' | 'none';
  kinesisTables?: boolean;
  /** Required for its subnetId (see src/query-window/network.ts). */
  instances: InstancesInput;
  securityConfiguration?: string;
}

export interface InstancesInput {
  masterInstanceType?: string;
  coreInstanceType?: string;
  coreInstanceCount?: number;
  /** Tagged for-use-with-amazon-emr-managed-policies=true, as its VPC (checked by PrepareQueryWindow). */
  subnetId: string;
  ec2KeyName?: string;
  emrManagedMasterSecurityGroup?: string;
  emrManagedSlaveSecurityGroup?: string;
  serviceAccessSecurityGroup?: string;
  additionalMasterSecurityGroups?: string[];
  additionalSlaveSecurityGroups?: string[];
}

export const validateQueryWindowInput = compileValidator<QueryWindowInput>(
  queryWindowSchema,
  'query window request',
);

export const DEFAULT_RELEASE_LABEL = 'emr-6.15.0';
export const DEFAULT_INSTANCE_TYPE = 'm5.xlarge';
export const DEFAULT_CORE_COUNT = 2;

/** Execution names Step Functions and EMR cluster names, S3 keys and Drill's cluster id all accept. */
export const WINDOW_ID_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;

export interface ReleaseSupport {
  releaseLabel: string;
  major: 5 | 6 | 7;
  hive: '2.3' | '3.1';
  /**
   * EMR documents its Hive Kinesis storage handler (com.amazon.emr.kinesis.hive.KinesisStorageHandler,
   * component emr-kinesis) for the Hive 1/2 releases (4.x, 5.x); 6.x and 7.x still list the
   * component, but not the Hive handler: reservoir creates its tables by default on 5.x only.
   */
  kinesisHandler: boolean;
}

export function releaseSupport(releaseLabel: string): ReleaseSupport {
  const match = /^emr-(\d+)\.(\d+)\.(\d+)$/.exec(releaseLabel);
  const major = Number(match?.[1]);
  if (!match || (major !== 5 && major !== 6 && major !== 7))
    throw new ValidationError(`field releaseLabel: ${releaseLabel} is not an EMR 5.30+, 6.x or 7.x release`);
  return {
    releaseLabel,
    major,
    hive: major === 5 ? '2.3' : '3.1',
    kinesisHandler: major === 5,
  };
}

/** A request with its defaults applied: what the window runs with (stored as request.json). */
export interface ResolvedQueryWindow {
  windowId: string;
  /** Epoch ms: the execution's start; the live snapshot ends here. */
  openedAt: number;
  durationMinutes: number;
  releaseLabel: string;
  drillVersion: string;
  live: 'auto' | 'snapshot' | 'none';
  /** The records view has a live part (a snapshot of the tail not archived yet). */
  liveSnapshot: boolean;
  kinesisTables: boolean;
  /** Named in the request, or null: every stream with checkpoints (found by prepareQueryWindow). */
  streams: string[] | null;
  instances: Required<Pick<InstancesInput, 'masterInstanceType' | 'coreInstanceType' | 'coreInstanceCount'>> &
    Omit<InstancesInput, 'masterInstanceType' | 'coreInstanceType' | 'coreInstanceCount'>;
  securityConfiguration: string | null;
}

export function resolveQueryWindow(
  input: unknown,
  context: { windowId: string; openedAt: number; defaultMinutes: number; drillVersion: string },
): ResolvedQueryWindow {
  const request = validateQueryWindowInput(input ?? {});
  if (!WINDOW_ID_PATTERN.test(context.windowId))
    throw new ValidationError(
      `execution name ${JSON.stringify(context.windowId)}: a query window's name (its execution name) is 1-80 letters, digits, - or _`,
    );
  const releaseLabel = request.releaseLabel ?? DEFAULT_RELEASE_LABEL;
  const support = releaseSupport(releaseLabel);
  const drillVersion = request.drillVersion ?? context.drillVersion;
  if (!/^\d+\.\d+\.\d+$/.test(drillVersion))
    throw new ValidationError(
      `drillVersion ${JSON.stringify(drillVersion)} (the deployment's parameter) is not a release number`,
    );
  const live = request.live ?? 'auto';
  if (request.kinesisTables && live === 'none')
    throw new ValidationError('field kinesisTables: live is none, so there are no live tables to create');
  return {
    windowId: context.windowId,
    openedAt: context.openedAt,
    durationMinutes: request.durationMinutes ?? context.defaultMinutes,
    releaseLabel,
    drillVersion,
    live,
    liveSnapshot: live !== 'none',
    kinesisTables: request.kinesisTables ?? (live === 'auto' && support.kinesisHandler),
    streams: request.streams ?? null,
    instances: {
      ...request.instances,
      masterInstanceType: request.instances?.masterInstanceType ?? DEFAULT_INSTANCE_TYPE,
      coreInstanceType: request.instances?.coreInstanceType ?? DEFAULT_INSTANCE_TYPE,
      coreInstanceCount: request.instances?.coreInstanceCount ?? DEFAULT_CORE_COUNT,
    },
    securityConfiguration: request.securityConfiguration ?? null,
  };
}
