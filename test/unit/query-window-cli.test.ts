import type { HistoryEvent } from '@aws-sdk/client-sfn';
import {
  buildQueryWindowInput,
  generateWindowId,
  phaseOf,
  progressOf,
} from '../../src/cli/commands/query-window';
import { CommandFailure, parseDuration } from '../../src/cli/output';
import { loadLocalDefinition } from '../../src/local/asl-definition';
import { WINDOW_ID_PATTERN } from '../../src/query-window/request';

/** The pure parts of `reservoir query-window` (the rest talks to the deployed stack). */

describe('reservoir query-window (CLI)', () => {
  it('when a duration is given, then hours and minutes become minutes', () => {
    expect(parseDuration('4h')).toBe(240);
    expect(parseDuration('90m')).toBe(90);
    expect(parseDuration('1h30m')).toBe(90);
    expect(parseDuration('45')).toBe(45);
    expect(() => parseDuration('soon')).toThrow(CommandFailure);
    expect(() => parseDuration('')).toThrow(CommandFailure);
  });

  it('when flags and a request file are both given, then the flags win and the result is validated', () => {
    const request = JSON.stringify({
      streams: ['a'],
      durationMinutes: 60,
      instances: { coreInstanceCount: 5, subnetId: 'subnet-0123456789abcdef0' },
    });
    const input = buildQueryWindowInput(
      {
        request: '-',
        stream: ['orders', 'payments'],
        duration: '2h',
        coreType: 'r5.xlarge',
        securityGroup: ['sg-0123456789abcdef0'],
      },
      () => request,
    );

    expect(input).toEqual({
      streams: ['orders', 'payments'],
      durationMinutes: 120,
      instances: {
        coreInstanceCount: 5,
        subnetId: 'subnet-0123456789abcdef0',
        coreInstanceType: 'r5.xlarge',
        additionalMasterSecurityGroups: ['sg-0123456789abcdef0'],
      },
    });
    expect(buildQueryWindowInput({ subnet: 'subnet-0123456789abcdef0' })).toEqual({
      instances: { subnetId: 'subnet-0123456789abcdef0' },
    });
    expect(() => buildQueryWindowInput({})).toThrow(/field instances: is required/);
  });

  it('when the flags make an invalid request, then the command fails before anything is started, naming the field', () => {
    expect(() => buildQueryWindowInput({ coreCount: 'many' })).toThrow(/field instances\.coreInstanceCount/);
    expect(() => buildQueryWindowInput({ release: 'emr-4.9.0' })).toThrow(CommandFailure);
    expect(() => buildQueryWindowInput({ request: '-' }, () => '{not json')).toThrow(/--request: not JSON/);
  });

  it('when a window id is generated, then it is a valid execution and cluster name', () => {
    const id = generateWindowId(new Date(Date.UTC(2026, 10, 22, 9, 5, 7)));

    expect(id).toMatch(/^qw-20261122T090507-[0-9a-f]{6}$/);
    expect(WINDOW_ID_PATTERN.test(id)).toBe(true);
  });

  it('when the execution’s history is read, then the phase and the cluster come from its newest events', () => {
    const events: HistoryEvent[] = [
      {
        id: 9,
        timestamp: new Date(),
        type: 'TaskStateEntered',
        stateEnteredEventDetails: { name: 'CreateTables' },
      },
      {
        id: 6,
        timestamp: new Date(),
        type: 'TaskSubmitted',
        taskSubmittedEventDetails: {
          resourceType: 'elasticmapreduce',
          resource: 'createCluster.sync',
          output:
            '{"ClusterArn":"arn:aws:elasticmapreduce:eu-west-1:1:cluster/j-2AXXXXXXGAPLF","ClusterId":"j-2AXXXXXXGAPLF"}',
        },
      },
    ];

    expect(progressOf(events)).toEqual({ state: 'CreateTables', clusterId: 'j-2AXXXXXXGAPLF' });
    expect(phaseOf('CreateTables')).toBe('creating the Hive tables and the records view');
    expect(phaseOf('WaitForClose')).toBe('open');
    expect(progressOf([])).toEqual({ state: undefined, clusterId: undefined });
  });

  it('when any state of the definition is entered, then the CLI has a phase for it', () => {
    const states = Object.keys(
      JSON.parse(JSON.stringify(loadLocalDefinition('query-window').definition)).States as object,
    );
    const unnamed = states.filter((s) => phaseOf(s) === 'closing');

    expect(unnamed.sort()).toEqual(
      [
        'CleanupQueryWindow',
        'ClusterNotFound',
        'ClusterNotTerminated',
        'Outcome',
        'QueryWindowClosed',
        'QueryWindowFailed',
      ].sort(),
    );
  });
});
