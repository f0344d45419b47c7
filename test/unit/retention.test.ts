import fc from 'fast-check';
import { discoverStreams } from '../../src/archive/discover';
import { applyRetention } from '../../src/archive/retention';
import { ValidationError } from '../../src/core/errors';
import type {
  BucketLifecycle,
  BucketLifecycleConfiguration,
  ShardDescription,
  StreamCatalog,
} from '../../src/core/ports';
import {
  checkpointExpireDays,
  cloudFormationLifecycleRules,
  lifecycleRulesFor,
  mergeLifecycleRules,
  parseRetentionParameter,
  parseRetentionParameters,
  retentionFromTags,
  streamRuleIds,
  type LifecycleRuleJson,
  type RetentionPolicy,
} from '../../src/core/retention';

const tags = (days?: string, transitionDays?: string, transitionClass?: string) => ({
  'reservoir:archive': 'ALL',
  ...(days !== undefined ? { 'reservoir:retention-days': days } : {}),
  ...(transitionDays !== undefined ? { 'reservoir:transition-days': transitionDays } : {}),
  ...(transitionClass !== undefined ? { 'reservoir:transition-class': transitionClass } : {}),
});

/** Rules of other tools and of the stack itself: never touched by reservoir. */
const FOREIGN: LifecycleRuleJson[] = [
  { ID: 'ExpireRunFiles', Status: 'Enabled', Filter: { Prefix: 'runs/' }, Expiration: { Days: 7 } },
  {
    ID: 'AbortIncompleteMultipartUploads',
    Status: 'Enabled',
    Filter: {},
    AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
  },
  {
    ID: 'someone-elses',
    Status: 'Disabled',
    Filter: { Tag: { Key: 'team', Value: 'x' } },
    NoncurrentVersionExpiration: { NoncurrentDays: 3 },
  },
];

describe('retention policies from stream tags', () => {
  it('given no retention tag, then there is no policy and no problem', () => {
    expect(retentionFromTags('orders', tags())).toEqual({ policy: null });
  });

  it('given retention-days, then archive objects are kept that many days', () => {
    expect(retentionFromTags('orders', tags(' 30 '))).toEqual({
      policy: { stream: 'orders', expireDays: 30 },
    });
  });

  it('given transition days without a class, then the transition is to STANDARD_IA', () => {
    expect(retentionFromTags('orders', tags('365', '30'))).toEqual({
      policy: { stream: 'orders', expireDays: 365, transition: { days: 30, storageClass: 'STANDARD_IA' } },
    });
  });

  it('given a transition class in any case, then it is the storage class', () => {
    expect(retentionFromTags('orders', tags('365', '0', 'glacier_ir'))).toEqual({
      policy: { stream: 'orders', expireDays: 365, transition: { days: 0, storageClass: 'GLACIER_IR' } },
    });
  });

  it.each([
    [tags('30d'), 'tag reservoir:retention-days must be a whole number of days >= 1, got "30d"'],
    [tags('0'), 'tag reservoir:retention-days must be a whole number of days >= 1, got "0"'],
    [tags('-5'), 'tag reservoir:retention-days must be a whole number of days >= 1, got "-5"'],
    [tags('1.5'), 'tag reservoir:retention-days must be a whole number of days >= 1, got "1.5"'],
    [tags(undefined, '30'), 'tag reservoir:transition-days needs tag reservoir:retention-days'],
    [
      tags(undefined, undefined, 'GLACIER'),
      'tag reservoir:transition-class needs tag reservoir:retention-days',
    ],
    [tags('30', undefined, 'GLACIER'), 'tag reservoir:transition-class needs tag reservoir:transition-days'],
    [tags('90', 'soon'), 'tag reservoir:transition-days must be a whole number of days >= 0, got "soon"'],
    [
      tags('90', '10', 'TAPE'),
      'tag reservoir:transition-class must be one of STANDARD_IA, INTELLIGENT_TIERING',
    ],
    [tags('90', '10'), 'a transition to STANDARD_IA needs at least 30 days (an S3 minimum), got 10'],
    [
      tags('30', '30', 'GLACIER'),
      'the transition (after 30 days) must come before the expiration (after 30 days)',
    ],
  ])('given malformed tags %j, then a problem names the stream, the tag and the rule', (given, message) => {
    const parsed = retentionFromTags('orders', given);

    expect(parsed).toEqual({ problem: expect.stringContaining(message) });
    expect(parsed.problem).toMatch(/^stream orders: /);
  });
});

describe('jsonl-days from stream tags', () => {
  const withJsonl = (jsonlDays: string, days?: string) => ({
    ...tags(days),
    'reservoir:jsonl-days': jsonlDays,
  });

  it('given only jsonl-days, then converted JSONL expires and nothing else does', () => {
    expect(retentionFromTags('orders', withJsonl('7'))).toEqual({
      policy: { stream: 'orders', jsonlDays: 7 },
    });
  });

  it('given jsonl-days and retention-days, then both; equal days are allowed', () => {
    expect(retentionFromTags('orders', withJsonl('7', '30'))).toEqual({
      policy: { stream: 'orders', expireDays: 30, jsonlDays: 7 },
    });
    expect(retentionFromTags('orders', withJsonl('30', '30'))).toEqual({
      policy: { stream: 'orders', expireDays: 30, jsonlDays: 30 },
    });
  });

  it.each([
    [withJsonl('0'), 'tag reservoir:jsonl-days must be a whole number of days >= 1, got "0"'],
    [withJsonl('7d'), 'tag reservoir:jsonl-days must be a whole number of days >= 1, got "7d"'],
    [withJsonl('1.5', '30'), 'tag reservoir:jsonl-days must be a whole number of days >= 1, got "1.5"'],
    [
      withJsonl('31', '30'),
      'tags reservoir:retention-days and reservoir:jsonl-days: JSONL kept after conversion (31 days) must not exceed the archive',
    ],
  ])('given malformed tags %j, then a problem names the stream, the tag and the rule', (given, message) => {
    const parsed = retentionFromTags('orders', given);

    expect(parsed).toEqual({ problem: expect.stringContaining(message) });
    expect(parsed.problem).toMatch(/^stream orders: /);
  });
});

describe('the jsonlDays deployment parameter', () => {
  it('given STREAM=DAYS entries, then they join the retention parameter’s policies or make their own', () => {
    expect(parseRetentionParameters('orders=30,payments=365', 'orders=7, events=3')).toEqual([
      { stream: 'orders', expireDays: 30, jsonlDays: 7 },
      { stream: 'payments', expireDays: 365 },
      { stream: 'events', jsonlDays: 3 },
    ]);
    expect(parseRetentionParameters('', '')).toEqual([]);
  });

  it.each([
    ['orders', 'entry "orders": not STREAM=DAYS'],
    ['orders=7:GLACIER@1', 'entry "orders=7:GLACIER@1": not STREAM=DAYS'],
    ['orders=0', 'entry "orders=0": the days to keep converted JSONL must be a whole number >= 1, got "0"'],
    ['orders=7,orders=8', 'entry "orders=8": stream orders is listed twice'],
    ['my stream=3', '"my stream" is not a stream name'],
    [
      'payments=400',
      'entry "payments=400": 400 days exceed the 365 days parameter retention keeps stream payments',
    ],
  ])(
    'given "%s", then a ValidationError names the parameter, the entry and the rule, on one line',
    (text, message) => {
      const error = (() => {
        try {
          parseRetentionParameters('payments=365', text);
        } catch (e) {
          return e;
        }
      })();

      expect(error).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toMatch(/^parameter jsonlDays: /);
      expect((error as Error).message).toContain(message);
      expect((error as Error).message).toContain('syntax: STREAM=DAYS, comma-separated');
      expect((error as Error).message).not.toContain('\n');
    },
  );
});

describe('the retention deployment parameter', () => {
  it('given STREAM=DAYS[:CLASS@DAYS] entries, then one policy each', () => {
    expect(parseRetentionParameter('orders=30, payments=365:STANDARD_IA@30,logs.v2=7:glacier@0')).toEqual([
      { stream: 'orders', expireDays: 30 },
      { stream: 'payments', expireDays: 365, transition: { days: 30, storageClass: 'STANDARD_IA' } },
      { stream: 'logs.v2', expireDays: 7, transition: { days: 0, storageClass: 'GLACIER' } },
    ]);
  });

  it('given an empty value, then no policy', () => {
    expect(parseRetentionParameter('')).toEqual([]);
    expect(parseRetentionParameter('  ')).toEqual([]);
  });

  it.each([
    ['orders', 'entry "orders": not STREAM=DAYS or STREAM=DAYS:STORAGE_CLASS@DAYS'],
    ['orders=30,', 'entry "": not STREAM=DAYS'],
    ['orders=30d', 'entry "orders=30d": not STREAM=DAYS'],
    ['orders=0', 'entry "orders=0": the days to keep must be a whole number >= 1, got "0"'],
    ['orders=30:GLACIER', 'entry "orders=30:GLACIER": not STREAM=DAYS'],
    ['orders=90:TAPE@10', 'the storage class must be one of STANDARD_IA, INTELLIGENT_TIERING, GLACIER_IR'],
    [
      'payments=365:STANDARD_IA@10',
      'a transition to STANDARD_IA needs at least 30 days (an S3 minimum), got 10',
    ],
    ['orders=30,orders=60', 'entry "orders=60": stream orders is listed twice'],
    ['my stream=30', '"my stream" is not a stream name'],
  ])('given "%s", then a ValidationError names the entry and the rule', (text, message) => {
    const error = (() => {
      try {
        parseRetentionParameter(text);
      } catch (e) {
        return e;
      }
    })();

    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toContain('parameter retention: ');
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).toContain('syntax: STREAM=DAYS[:STORAGE_CLASS@DAYS]');
  });
});

describe('lifecycle rules of a policy', () => {
  const payments: RetentionPolicy = {
    stream: 'payments',
    expireDays: 365,
    transition: { days: 30, storageClass: 'STANDARD_IA' },
    streamRetentionHours: 24,
  };

  it('given a policy, then one rule expires (and transitions) the archive prefix, one the columnar prefix alike, and one expires drained checkpoints', () => {
    expect(lifecycleRulesFor(payments, 'kinesis/')).toEqual([
      {
        ID: 'reservoir-archive-payments',
        Status: 'Enabled',
        Filter: { Prefix: 'kinesis/archive/stream=payments/' },
        Expiration: { Days: 365 },
        Transitions: [{ Days: 30, StorageClass: 'STANDARD_IA' }],
      },
      {
        ID: 'reservoir-columnar-payments',
        Status: 'Enabled',
        Filter: { Prefix: 'kinesis/columnar/stream=payments/' },
        Expiration: { Days: 365 },
        Transitions: [{ Days: 30, StorageClass: 'STANDARD_IA' }],
      },
      {
        ID: 'reservoir-checkpoints-payments',
        Status: 'Enabled',
        Filter: {
          And: {
            Prefix: 'kinesis/checkpoints/stream=payments/',
            Tags: [{ Key: 'reservoir-drained', Value: 'true' }],
          },
        },
        Expiration: { Days: 365 },
      },
    ]);
  });

  it('given jsonl-days, then a rule on the archive prefix filtered by reservoir-converted=true expires converted JSONL', () => {
    const rules = lifecycleRulesFor({ ...payments, jsonlDays: 7 }, 'kinesis/');

    expect(rules.map((r) => r.ID)).toEqual([
      'reservoir-archive-payments',
      'reservoir-columnar-payments',
      'reservoir-jsonl-payments',
      'reservoir-checkpoints-payments',
    ]);
    expect(rules[2]).toEqual({
      ID: 'reservoir-jsonl-payments',
      Status: 'Enabled',
      Filter: {
        And: {
          Prefix: 'kinesis/archive/stream=payments/',
          Tags: [{ Key: 'reservoir-converted', Value: 'true' }],
        },
      },
      Expiration: { Days: 7 },
    });
  });

  it('given only jsonl-days, then the jsonl rule is the only one: Parquet and checkpoints are kept', () => {
    expect(lifecycleRulesFor({ stream: 'events', jsonlDays: 3 }, '')).toEqual([
      {
        ID: 'reservoir-jsonl-events',
        Status: 'Enabled',
        Filter: {
          And: { Prefix: 'archive/stream=events/', Tags: [{ Key: 'reservoir-converted', Value: 'true' }] },
        },
        Expiration: { Days: 3 },
      },
    ]);
  });

  it('given any policy, then the columnar rule mirrors the archive rule but for its prefix, every id is reservoir’s and fits S3’s 255 characters', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-zA-Z0-9_.-]{1,128}$/),
        fc.integer({ min: 1, max: 5000 }),
        fc.option(fc.integer({ min: 0, max: 4999 }), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 5000 }), { nil: undefined }),
        (stream, expireDays, transitionDays, jsonlDays) => {
          const policy: RetentionPolicy = {
            stream,
            expireDays,
            ...(transitionDays !== undefined && transitionDays < expireDays
              ? { transition: { days: transitionDays, storageClass: 'GLACIER_IR' as const } }
              : {}),
            ...(jsonlDays !== undefined ? { jsonlDays: Math.min(jsonlDays, expireDays) } : {}),
          };
          const rules = lifecycleRulesFor(policy, 'p/');
          const archive = rules.find((r) => r.ID === `reservoir-archive-${stream}`)!;
          const columnar = rules.find((r) => r.ID === `reservoir-columnar-${stream}`)!;

          expect({ ...columnar, ID: archive.ID, Filter: archive.Filter }).toEqual(archive);
          expect(columnar.Filter).toEqual({ Prefix: `p/columnar/stream=${stream}/` });
          for (const rule of rules) {
            expect(streamRuleIds(stream)).toContain(rule.ID);
            expect(rule.ID!.length).toBeLessThanOrEqual(255);
          }
        },
      ),
    );
  });

  it('given no transition and no prefix, then the archive rule only expires', () => {
    expect(lifecycleRulesFor({ stream: 'orders', expireDays: 30, streamRetentionHours: 24 }, '')[0]).toEqual({
      ID: 'reservoir-archive-orders',
      Status: 'Enabled',
      Filter: { Prefix: 'archive/stream=orders/' },
      Expiration: { Days: 30 },
    });
  });

  it.each([
    [{ expireDays: 30, streamRetentionHours: 24 }, 30],
    [{ expireDays: 1, streamRetentionHours: 24 }, 2],
    [{ expireDays: 3, streamRetentionHours: 168 }, 8],
    [{ expireDays: 30, streamRetentionHours: 8760 }, 366],
    [{ expireDays: 3, streamRetentionHours: 25 }, 3],
    [{ expireDays: 1, streamRetentionHours: 25 }, 3],
    [{ expireDays: 30 }, 366],
    [{ expireDays: 400 }, 400],
  ])(
    'given %j, then drained checkpoints outlive both the archive and the stream retention: %i days',
    (policy, days) => {
      expect(checkpointExpireDays({ stream: 's', ...policy })).toBe(days);
    },
  );

  it('given the deployment parameter, then the CloudFormation rules are the same rules with the stack prefix', () => {
    expect(
      cloudFormationLifecycleRules(parseRetentionParameter('orders=30,payments=365:STANDARD_IA@30')),
    ).toEqual([
      {
        Id: 'reservoir-archive-orders',
        Status: 'Enabled',
        Prefix: { 'Fn::Sub': '${ArchivePrefix}archive/stream=orders/' },
        ExpirationInDays: 30,
      },
      {
        Id: 'reservoir-columnar-orders',
        Status: 'Enabled',
        Prefix: { 'Fn::Sub': '${ArchivePrefix}columnar/stream=orders/' },
        ExpirationInDays: 30,
      },
      {
        Id: 'reservoir-checkpoints-orders',
        Status: 'Enabled',
        Prefix: { 'Fn::Sub': '${ArchivePrefix}checkpoints/stream=orders/' },
        TagFilters: [{ Key: 'reservoir-drained', Value: 'true' }],
        ExpirationInDays: 366,
      },
      {
        Id: 'reservoir-archive-payments',
        Status: 'Enabled',
        Prefix: { 'Fn::Sub': '${ArchivePrefix}archive/stream=payments/' },
        ExpirationInDays: 365,
        Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }],
      },
      {
        Id: 'reservoir-columnar-payments',
        Status: 'Enabled',
        Prefix: { 'Fn::Sub': '${ArchivePrefix}columnar/stream=payments/' },
        ExpirationInDays: 365,
        Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }],
      },
      {
        Id: 'reservoir-checkpoints-payments',
        Status: 'Enabled',
        Prefix: { 'Fn::Sub': '${ArchivePrefix}checkpoints/stream=payments/' },
        TagFilters: [{ Key: 'reservoir-drained', Value: 'true' }],
        ExpirationInDays: 366,
      },
    ]);
  });
});

describe('merging reservoir rules into a bucket lifecycle configuration', () => {
  const rulesOf = (stream: string, days: number) =>
    lifecycleRulesFor({ stream, expireDays: days, streamRetentionHours: 24 }, '');

  it('given foreign rules, then they are kept untouched and in place, and ours are added', () => {
    const { rules, changed } = mergeLifecycleRules(FOREIGN, rulesOf('orders', 30), ['orders']);

    expect(changed).toBe(true);
    expect(rules.slice(0, FOREIGN.length)).toEqual(FOREIGN);
    for (const [i, rule] of FOREIGN.entries()) expect(rules[i]).toBe(rule);
    expect(rules.slice(FOREIGN.length).map((r) => r.ID)).toEqual([
      'reservoir-archive-orders',
      'reservoir-checkpoints-orders',
      'reservoir-columnar-orders',
    ]);
  });

  it('given our rules are already there, then nothing changed, whatever their order', () => {
    const once = mergeLifecycleRules(FOREIGN, [...rulesOf('b', 30), ...rulesOf('a', 9)], ['a', 'b']);
    const shuffled = [...once.rules].reverse();

    expect(
      mergeLifecycleRules(once.rules, [...rulesOf('a', 9), ...rulesOf('b', 30)], ['a', 'b']).changed,
    ).toBe(false);
    expect(mergeLifecycleRules(shuffled, rulesOf('a', 9).concat(rulesOf('b', 30)), ['a', 'b'])).toEqual({
      rules: [
        ...shuffled.filter((r) => !r.ID!.startsWith('reservoir-')),
        ...once.rules.slice(FOREIGN.length),
      ],
      changed: false,
    });
  });

  it('given a changed policy, then only that stream’s rules are replaced', () => {
    const before = mergeLifecycleRules(FOREIGN, [...rulesOf('a', 9), ...rulesOf('b', 30)], ['a', 'b']).rules;
    const { rules, changed } = mergeLifecycleRules(before, rulesOf('a', 60), ['a']);

    expect(changed).toBe(true);
    expect(rules.find((r) => r.ID === 'reservoir-archive-a')!.Expiration).toEqual({ Days: 60 });
    expect(rules.filter((r) => r.ID!.endsWith('-b'))).toEqual(before.filter((r) => r.ID!.endsWith('-b')));
    expect(rules).toHaveLength(before.length);
  });

  it('given a managed stream without a policy (its tags were removed), then its rules are removed', () => {
    const before = mergeLifecycleRules(FOREIGN, [...rulesOf('a', 9), ...rulesOf('b', 30)], ['a', 'b']).rules;

    expect(mergeLifecycleRules(before, [], ['a']).rules.map((r) => r.ID)).toEqual([
      ...FOREIGN.map((r) => r.ID),
      'reservoir-archive-b',
      'reservoir-checkpoints-b',
      'reservoir-columnar-b',
    ]);
  });

  it('given jsonl-days removed from a managed stream, then its jsonl rule is removed and the others stay', () => {
    const withJsonl = lifecycleRulesFor(
      { stream: 'a', expireDays: 9, jsonlDays: 3, streamRetentionHours: 24 },
      '',
    );
    const before = mergeLifecycleRules(FOREIGN, withJsonl, ['a']).rules;

    expect(mergeLifecycleRules(before, rulesOf('a', 9), ['a']).rules.map((r) => r.ID)).toEqual([
      ...FOREIGN.map((r) => r.ID),
      'reservoir-archive-a',
      'reservoir-checkpoints-a',
      'reservoir-columnar-a',
    ]);
  });

  it('given a stream not managed by this run (e.g. the deployment sets it), then its rules stay', () => {
    const deployed = rulesOf('listed', 365);
    const { rules } = mergeLifecycleRules([...FOREIGN, ...deployed], rulesOf('tagged', 30), ['tagged']);

    expect(rules).toEqual(expect.arrayContaining(deployed));
  });

  it('given rules of the SDK with empty or undefined fields, then they equal ours', () => {
    const fromSdk = rulesOf('a', 9).map((rule) => ({
      ...rule,
      Transitions: [],
      NoncurrentVersionTransitions: undefined,
    }));

    expect(mergeLifecycleRules(fromSdk, rulesOf('a', 9), ['a']).changed).toBe(false);
  });

  it('given more than 1,000 rules, then a ValidationError', () => {
    const streams = Array.from({ length: 501 }, (_, i) => `s${i}`);

    expect(() =>
      mergeLifecycleRules(
        [],
        streams.flatMap((s) => rulesOf(s, 1)),
        streams,
      ),
    ).toThrow(ValidationError);
  });

  it('given any configuration and policies, then merging twice is merging once, and foreign rules survive', () => {
    const stream = fc.constantFrom('a', 'b', 'c', 'orders');
    const policy = fc.record({ stream, expireDays: fc.integer({ min: 1, max: 400 }) });
    fc.assert(
      fc.property(
        fc.subarray(FOREIGN),
        fc.uniqueArray(policy, { selector: (p) => p.stream }),
        fc.uniqueArray(policy, { selector: (p) => p.stream }),
        (foreign, earlier, later) => {
          const toRules = (ps: { stream: string; expireDays: number }[]) =>
            ps.flatMap((p) => lifecycleRulesFor({ ...p, streamRetentionHours: 24 }, ''));
          const managed = [...new Set(later.map((p) => p.stream).concat('a'))];
          const start = mergeLifecycleRules(
            foreign,
            toRules(earlier),
            earlier.map((p) => p.stream),
          ).rules;
          const once = mergeLifecycleRules(start, toRules(later), managed);
          const twice = mergeLifecycleRules(once.rules, toRules(later), managed);

          expect(twice).toEqual({ rules: once.rules, changed: false });
          for (const rule of foreign) expect(once.rules).toContain(rule);
        },
      ),
    );
  });
});

class FakeCatalog implements StreamCatalog {
  constructor(
    private readonly streams: Record<string, Record<string, string>>,
    private readonly retention: Record<string, number> = {},
  ) {}
  async listStreamNames() {
    return Object.keys(this.streams);
  }
  async listTags(stream: string) {
    return this.streams[stream] ?? {};
  }
  async listShards(): Promise<ShardDescription[]> {
    return [];
  }
  async describeStream(stream: string) {
    const hours = this.retention[stream];
    if (hours === undefined) throw new Error('AccessDeniedException');
    return { retentionHours: hours, createdAt: 0 };
  }
}

describe('retention in stream discovery', () => {
  const catalog = new FakeCatalog(
    {
      orders: tags('30', '0', 'GLACIER_IR'),
      payments: tags('seven'),
      plain: tags(),
      listed: { 'reservoir:retention-days': '90' },
      deployed: tags('10'),
      untagged: { 'reservoir:retention-days': '5' },
    },
    { orders: 48, listed: 24 },
  );

  it('given tagged and listed streams, then every archived stream with valid or no retention tags is managed, and malformed tags are reported', async () => {
    const result = await discoverStreams(catalog, ['listed'], undefined, {
      deployedRetentionStreams: ['deployed'],
    });

    expect(result.streams).toEqual(['deployed', 'listed', 'orders', 'payments', 'plain']);
    expect(result.retention.streams).toEqual(['listed', 'orders', 'plain']);
    expect(result.retention.policies).toEqual([
      { stream: 'listed', expireDays: 90, streamRetentionHours: 24 },
      {
        stream: 'orders',
        expireDays: 30,
        transition: { days: 0, storageClass: 'GLACIER_IR' },
        streamRetentionHours: 48,
      },
    ]);
    expect(result.retention.problems).toEqual([
      "stream deployed: retention tags ignored: the deployment's retention parameter sets this stream's retention",
      'stream payments: tag reservoir:retention-days must be a whole number of days >= 1, got "seven"; its lifecycle rules are left as they were',
    ]);
  });

  it('given streams named in the input, then exactly their retention tags are read', async () => {
    const result = await discoverStreams(catalog, [], ['untagged', 'plain']);

    expect(result.retention).toEqual({
      streams: ['plain', 'untagged'],
      policies: [{ stream: 'untagged', expireDays: 5 }],
      problems: [
        expect.stringMatching(
          /^stream untagged: retention period unknown \(AccessDeniedException\); drained checkpoints are kept 366 days$/,
        ),
      ],
    });
  });
});

class FakeLifecycle implements BucketLifecycle {
  configuration: BucketLifecycleConfiguration | null = null;
  puts = 0;
  async getLifecycle() {
    return this.configuration && structuredClone(this.configuration);
  }
  async putLifecycle(configuration: BucketLifecycleConfiguration) {
    this.puts += 1;
    this.configuration = configuration.rules.length === 0 ? null : structuredClone(configuration);
  }
}

describe('applying retention to the bucket', () => {
  const discovery = {
    streams: ['orders', 'plain'],
    policies: [{ stream: 'orders', expireDays: 30, streamRetentionHours: 24 }],
    problems: ['stream payments: …'],
  };

  it('given foreign rules, then ours are merged in once, the foreign ones and the minimum object size are kept, and a second run writes nothing', async () => {
    const lifecycle = new FakeLifecycle();
    lifecycle.configuration = {
      rules: FOREIGN,
      transitionDefaultMinimumObjectSize: 'varies_by_storage_class',
    };

    const first = await applyRetention(lifecycle, 'p/', discovery);
    const second = await applyRetention(lifecycle, 'p/', discovery);

    expect(first).toEqual({
      changed: true,
      streamsWithRules: ['orders'],
      problems: ['stream payments: …'],
    });
    expect(second.changed).toBe(false);
    expect(lifecycle.puts).toBe(1);
    expect(lifecycle.configuration).toEqual({
      rules: [
        ...FOREIGN,
        ...lifecycleRulesFor(discovery.policies[0]!, 'p/').sort((a, b) => a.ID!.localeCompare(b.ID!)),
      ],
      transitionDefaultMinimumObjectSize: 'varies_by_storage_class',
    });
  });

  it('given the last rule is removed, then the configuration is deleted', async () => {
    const lifecycle = new FakeLifecycle();
    await applyRetention(lifecycle, '', discovery);
    await applyRetention(lifecycle, '', { ...discovery, policies: [] });

    expect(lifecycle.configuration).toBeNull();
    expect(lifecycle.puts).toBe(2);
  });

  it('given no managed stream, then the bucket is not even read', async () => {
    const lifecycle = new FakeLifecycle();
    const get = jest.spyOn(lifecycle, 'getLifecycle');

    expect((await applyRetention(lifecycle, '', { streams: [], policies: [], problems: [] })).changed).toBe(
      false,
    );
    expect(get).not.toHaveBeenCalled();
  });
});
