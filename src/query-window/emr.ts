import type { ResolvedQueryWindow } from './request';

/**
 * The EMR side of a query window: the parameters statemachines/query-window.asl.yml passes to
 * elasticmapreduce:createCluster.sync and addStep.sync, built from the resolved request.
 * Applications and Configurations are fixed, and written in the ASL itself.
 */

/** Tag of every query window cluster; its value is the stage. The state machine may act only on clusters so tagged. */
export const CLUSTER_TAG = 'reservoir-query-window';

/** SHA-256 of Drill release tarballs, when known (else install-drill.sh checks the published SHA-512). */
export const DRILL_SHA256: Readonly<Record<string, string>> = {
  '1.21.2': '77e2e7438f1b4605409828eaa86690f1e84b038465778a04585bd8fb21d68e3b',
};

export interface ClusterParameters {
  name: string;
  releaseLabel: string;
  serviceRole: string;
  jobFlowRole: string;
  logUri: string;
  instances: Record<string, unknown>;
  bootstrapActions: { Name: string; ScriptBootstrapAction: { Path: string; Args: string[] } }[];
  tags: { Key: string; Value: string }[];
  autoTerminationPolicy: { IdleTimeout: number };
  /** Present only when the request names one (the ASL chooses the CreateCluster variant on it). */
  securityConfiguration?: string;
}

export function clusterName(windowId: string): string {
  return `reservoir-query-window-${windowId}`;
}

/** RunJobFlow's Instances: one master, N core nodes (uniform instance groups). */
export function instancesParameter(window: ResolvedQueryWindow): Record<string, unknown> {
  const i = window.instances;
  const groups: Record<string, unknown>[] = [
    {
      Name: 'master',
      InstanceRole: 'MASTER',
      InstanceType: i.masterInstanceType,
      InstanceCount: 1,
      Market: 'ON_DEMAND',
    },
  ];
  if (i.coreInstanceCount > 0)
    groups.push({
      Name: 'core',
      InstanceRole: 'CORE',
      InstanceType: i.coreInstanceType,
      InstanceCount: i.coreInstanceCount,
      Market: 'ON_DEMAND',
    });
  const optional: Record<string, unknown> = {
    Ec2SubnetId: i.subnetId,
    Ec2KeyName: i.ec2KeyName,
    EmrManagedMasterSecurityGroup: i.emrManagedMasterSecurityGroup,
    EmrManagedSlaveSecurityGroup: i.emrManagedSlaveSecurityGroup,
    ServiceAccessSecurityGroup: i.serviceAccessSecurityGroup,
    AdditionalMasterSecurityGroups: i.additionalMasterSecurityGroups,
    AdditionalSlaveSecurityGroups: i.additionalSlaveSecurityGroups,
  };
  return {
    InstanceGroups: groups,
    // createCluster requires it: the cluster waits for steps, and the state machine ends it.
    KeepJobFlowAliveWhenNoSteps: true,
    TerminationProtected: false,
    ...Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== undefined)),
  };
}

export function clusterParameters(
  window: ResolvedQueryWindow,
  deps: {
    stage: string;
    serviceRole: string;
    instanceProfile: string;
    logUri: string;
    installDrillUri: string;
    pluginsUri: string;
  },
): ClusterParameters {
  const args = [
    '--version',
    window.drillVersion,
    '--plugins',
    deps.pluginsUri,
    '--cluster-id',
    `reservoir-${window.windowId}`,
  ];
  const sha256 = DRILL_SHA256[window.drillVersion];
  if (sha256) args.push('--sha256', sha256);
  return {
    name: clusterName(window.windowId),
    releaseLabel: window.releaseLabel,
    serviceRole: deps.serviceRole,
    jobFlowRole: deps.instanceProfile,
    logUri: deps.logUri,
    instances: instancesParameter(window),
    bootstrapActions: [
      {
        Name: `Install Apache Drill ${window.drillVersion}`,
        ScriptBootstrapAction: { Path: deps.installDrillUri, Args: args },
      },
    ],
    tags: [
      { Key: CLUSTER_TAG, Value: deps.stage },
      { Key: 'reservoir-window-id', Value: window.windowId },
      // AmazonEMRServicePolicy_v2 (the service role's policy) acts on resources tagged so.
      { Key: 'for-use-with-amazon-emr-managed-policies', Value: 'true' },
    ],
    // A backstop if the execution is stopped by hand (no Catch runs then): EMR ends a cluster idle
    // for longer than the window could last. The state machine terminates it long before.
    autoTerminationPolicy: { IdleTimeout: Math.min(7 * 24 * 3600, window.durationMinutes * 60 + 3600) },
    ...(window.securityConfiguration ? { securityConfiguration: window.securityConfiguration } : {}),
  };
}

/** `text` quoted for bash (single quotes; a single quote becomes '\''). */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** command-runner.jar arguments of a Hive step that runs a script from S3 (EMR's Hive step form). */
export function hiveScriptStep(scriptUri: string): string[] {
  return ['hive-script', '--run-hive-script', '--args', '-f', scriptUri];
}

/** command-runner.jar arguments of a step that runs a bash script from S3 with arguments. */
export function bashScriptStep(scriptUri: string, name: string, args: string[]): string[] {
  const local = `/tmp/reservoir-${name}`;
  const command = [
    `aws s3 cp --only-show-errors ${shellQuote(scriptUri)} ${shellQuote(local)}`,
    `bash ${[local, ...args].map(shellQuote).join(' ')}`,
  ].join(' && ');
  return ['bash', '-c', command];
}
