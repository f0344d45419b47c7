import { ValidationError } from '../../src/core/errors';
import { clusterParameters, instancesParameter } from '../../src/query-window/emr';
import {
  releaseSupport,
  resolveQueryWindow,
  validateQueryWindowInput,
  type QueryWindowInput,
} from '../../src/query-window/request';

/** The window's input (schemas/query-window-input.schema.json), its defaults, and the EMR parameters built from it. */

const context = {
  windowId: 'qw-1',
  openedAt: Date.UTC(2026, 10, 22, 8),
  defaultMinutes: 240,
  drillVersion: '1.21.2',
};
const SUBNET = 'subnet-0123456789abcdef0';
/** Resolves a request that names the (required) subnet unless it names its own instances. */
const resolve = (input: object) => resolveQueryWindow({ instances: { subnetId: SUBNET }, ...input }, context);

function rejection(input: unknown): string {
  try {
    validateQueryWindowInput(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}

const DEPS = {
  stage: 'prod',
  serviceRole: 'svc',
  instanceProfile: 'profile',
  logUri: 's3://b/runs/query-window/qw-1/logs/',
  installDrillUri: 's3://b/runs/query-window/qw-1/bootstrap/install-drill.sh',
  pluginsUri: 's3://b/runs/query-window/qw-1/drill/storage-plugins-override.conf',
};

describe('query window input and EMR parameters', () => {
  it('when the input names only the subnet, then every default applies', () => {
    expect(resolve({})).toEqual({
      windowId: 'qw-1',
      openedAt: context.openedAt,
      durationMinutes: 240,
      releaseLabel: 'emr-6.15.0',
      drillVersion: '1.21.2',
      live: 'auto',
      liveSnapshot: true,
      kinesisTables: false,
      streams: null,
      instances: {
        subnetId: SUBNET,
        masterInstanceType: 'm5.xlarge',
        coreInstanceType: 'm5.xlarge',
        coreInstanceCount: 2,
      },
      securityConfiguration: null,
    });
  });

  it('when the input names no subnet, then it is refused naming instances.subnetId', () => {
    expect(rejection({})).toContain('field instances: is required');
    expect(rejection({ instances: { coreInstanceCount: 3 } })).toContain(
      'field instances.subnetId: is required',
    );
  });

  it.each<[string, unknown, string]>([
    ['an unknown field', { size: 3 }, 'field size: is not allowed'],
    ['a release before 5.30', { releaseLabel: 'emr-5.29.0' }, 'field releaseLabel: must match pattern'],
    ['a release line that does not exist', { releaseLabel: 'emr-8.0.0' }, 'field releaseLabel'],
    ['a window shorter than 15 minutes', { durationMinutes: 5 }, 'field durationMinutes: must be >= 15'],
    ['a window longer than a week', { durationMinutes: 20000 }, 'field durationMinutes: must be <= 10080'],
    [
      'an instance type that is not one',
      { instances: { masterInstanceType: 'huge' } },
      'field instances.masterInstanceType',
    ],
    ['a negative core count', { instances: { coreInstanceCount: -1 } }, 'field instances.coreInstanceCount'],
    [
      'a subnet that is not a subnet id',
      { instances: { subnetId: 'sg-0123456789abcdef0' } },
      'field instances.subnetId',
    ],
    [
      'a security group list with a bad id',
      { instances: { additionalMasterSecurityGroups: ['sg-1'] } },
      'additionalMasterSecurityGroups[0]',
    ],
    ['an unknown instances field', { instances: { spot: true } }, 'field instances.spot: is not allowed'],
    ['an invalid stream name', { streams: ['a b'] }, 'field streams[0]'],
    ['a live mode that does not exist', { live: 'always' }, 'field live'],
    ['a Drill version that is not one', { drillVersion: 'latest' }, 'field drillVersion'],
  ])('when the input has %s, then it is refused naming the field', (_, input, message) => {
    expect(rejection(input)).toContain(message);
  });

  it('when the input is complete, then it is accepted as given', () => {
    const input: QueryWindowInput = {
      streams: ['orders'],
      durationMinutes: 90,
      releaseLabel: 'emr-7.5.0',
      drillVersion: '1.20.3',
      live: 'snapshot',
      kinesisTables: true,
      instances: {
        masterInstanceType: 'r6g.xlarge',
        coreInstanceType: 'r6g.2xlarge',
        coreInstanceCount: 4,
        subnetId: 'subnet-0123456789abcdef0',
        ec2KeyName: 'ops',
        emrManagedMasterSecurityGroup: 'sg-0123456789abcdef0',
        emrManagedSlaveSecurityGroup: 'sg-0123456789abcdef1',
        serviceAccessSecurityGroup: 'sg-0123456789abcdef2',
        additionalMasterSecurityGroups: ['sg-0123456789abcdef3'],
      },
      securityConfiguration: 'tls',
    };
    expect(validateQueryWindowInput(input)).toBe(input);
    expect(resolve(input)).toMatchObject({ durationMinutes: 90, kinesisTables: true, liveSnapshot: true });
  });

  it('when the release is chosen, then the Kinesis storage handler tables default on emr-5.x only', () => {
    expect(releaseSupport('emr-5.36.2')).toMatchObject({ major: 5, hive: '2.3', kinesisHandler: true });
    expect(releaseSupport('emr-6.15.0')).toMatchObject({ major: 6, hive: '3.1', kinesisHandler: false });
    expect(releaseSupport('emr-7.5.0')).toMatchObject({ major: 7, hive: '3.1', kinesisHandler: false });
    expect(resolve({ releaseLabel: 'emr-5.36.2' }).kinesisTables).toBe(true);
    expect(resolve({ releaseLabel: 'emr-5.36.2', live: 'snapshot' }).kinesisTables).toBe(false);
    expect(resolve({ releaseLabel: 'emr-7.5.0', kinesisTables: true }).kinesisTables).toBe(true);
    expect(() => resolve({ live: 'none', kinesisTables: true })).toThrow(/field kinesisTables/);
    expect(resolve({ live: 'none' }).liveSnapshot).toBe(false);
  });

  it('when the deployment’s Drill version is not a release number, then the window is refused', () => {
    expect(() =>
      resolveQueryWindow({ instances: { subnetId: SUBNET } }, { ...context, drillVersion: 'latest' }),
    ).toThrow(/drillVersion "latest"/);
  });

  it('when the execution name cannot name a window, then it is refused', () => {
    expect(() =>
      resolveQueryWindow({ instances: { subnetId: SUBNET } }, { ...context, windowId: 'has space' }),
    ).toThrow(ValidationError);
    expect(() =>
      resolveQueryWindow({ instances: { subnetId: SUBNET } }, { ...context, windowId: 'x'.repeat(81) }),
    ).toThrow(/execution name/);
  });

  it('when Instances are built, then the groups and the optional fields come from the input, and the cluster waits for steps', () => {
    const window = resolve({
      instances: {
        coreInstanceCount: 0,
        subnetId: 'subnet-0123456789abcdef0',
        serviceAccessSecurityGroup: 'sg-0123456789abcdef2',
      },
    });

    expect(instancesParameter(window)).toEqual({
      InstanceGroups: [
        {
          Name: 'master',
          InstanceRole: 'MASTER',
          InstanceType: 'm5.xlarge',
          InstanceCount: 1,
          Market: 'ON_DEMAND',
        },
      ],
      KeepJobFlowAliveWhenNoSteps: true,
      TerminationProtected: false,
      Ec2SubnetId: 'subnet-0123456789abcdef0',
      ServiceAccessSecurityGroup: 'sg-0123456789abcdef2',
    });
  });

  it('when the cluster parameters are built, then they name the window, tag it with the stage and pass the Drill version to the bootstrap action', () => {
    const cluster = clusterParameters(resolve({ durationMinutes: 60, drillVersion: '1.20.3' }), DEPS);

    expect(cluster).toMatchObject({
      name: 'reservoir-query-window-qw-1',
      releaseLabel: 'emr-6.15.0',
      serviceRole: 'svc',
      jobFlowRole: 'profile',
      logUri: DEPS.logUri,
      autoTerminationPolicy: { IdleTimeout: 3600 + 3600 },
    });
    expect(cluster.securityConfiguration).toBeUndefined();
    expect(cluster.tags).toContainEqual({ Key: 'reservoir-query-window', Value: 'prod' });
    // No SHA-256 known for 1.20.3: the script checks the SHA-512 published next to the tarball.
    expect(cluster.bootstrapActions).toEqual([
      {
        Name: 'Install Apache Drill 1.20.3',
        ScriptBootstrapAction: {
          Path: DEPS.installDrillUri,
          Args: ['--version', '1.20.3', '--plugins', DEPS.pluginsUri, '--cluster-id', 'reservoir-qw-1'],
        },
      },
    ]);
    expect(clusterParameters(resolve({ securityConfiguration: 'tls' }), DEPS).securityConfiguration).toBe(
      'tls',
    );
    expect(
      clusterParameters(resolve({ durationMinutes: 10080 }), DEPS).autoTerminationPolicy.IdleTimeout,
    ).toBe(7 * 24 * 3600);
  });
});
