import fc from 'fast-check';
import { ValidationError } from '../../src/core/errors';
import {
  compileFilter,
  validateFilter,
  type FilterEvent,
  type FilterPattern,
} from '../../src/core/filter-pattern';

/** A replay event around a payload (the payload is `data`, as in a Lambda Kinesis filter). */
const record = (data: unknown, meta: Partial<FilterEvent> = {}): FilterEvent => ({
  partitionKey: 'press-01',
  sequenceNumber: '49590338271490256608559692538361571095921575989136588898',
  approximateArrivalTimestamp: Date.UTC(2024, 10, 21, 9, 30),
  data,
  ...meta,
});

/** Applies a pattern written for the payload (`{"data": pattern}`) to the payload. */
const onData = (pattern: FilterPattern, data: unknown): boolean =>
  compileFilter({ data: pattern })(record(data));

const telemetry = (overrides: Record<string, unknown> = {}) => ({
  type: 'record',
  host: 'spark-1',
  data: {
    machine: 'press-01',
    time: '2024-11-21T09:30:00.000Z',
    attributes: { temperature: { value: 21.5 }, pressure: { value: 3.2 } },
  },
  ...overrides,
});

const expectInvalid = (pattern: unknown, message: string | RegExp) => {
  expect(() => validateFilter(pattern)).toThrow(ValidationError);
  expect(() => validateFilter(pattern)).toThrow(message);
};

describe('filter patterns: Lambda "Filter rule syntax" table', () => {
  it('given Null ["UserID": [null]], then a null value matches and a missing or "null" string does not', () => {
    const pattern = { UserID: [null] };
    expect(onData(pattern, { UserID: null })).toBe(true);
    expect(onData(pattern, { UserID: 'null' })).toBe(false);
    expect(onData(pattern, {})).toBe(false);
  });

  it('given Empty ["LastName": [""]], then only the empty string matches', () => {
    const pattern = { LastName: [''] };
    expect(onData(pattern, { LastName: '' })).toBe(true);
    expect(onData(pattern, { LastName: 'Doe' })).toBe(false);
    expect(onData(pattern, { LastName: null })).toBe(false);
  });

  it('given Equals ["Name": ["Alice"]], then matching is exact and case-sensitive', () => {
    const pattern = { Name: ['Alice'] };
    expect(onData(pattern, { Name: 'Alice' })).toBe(true);
    expect(onData(pattern, { Name: 'alice' })).toBe(false);
    expect(onData(pattern, { Name: 'Alice ' })).toBe(false);
  });

  it('given Equals (ignore case) ["Name": [{"equals-ignore-case": "alice"}]], then any casing matches', () => {
    const pattern = { Name: [{ 'equals-ignore-case': 'alice' }] };
    expect(onData(pattern, { Name: 'Alice' })).toBe(true);
    expect(onData(pattern, { Name: 'ALICE' })).toBe(true);
    expect(onData(pattern, { Name: 'Alicia' })).toBe(false);
  });

  it('given And [Location and Day], then both fields must match', () => {
    const pattern = { Location: ['New York'], Day: ['Monday'] };
    expect(onData(pattern, { Location: 'New York', Day: 'Monday' })).toBe(true);
    expect(onData(pattern, { Location: 'New York', Day: 'Tuesday' })).toBe(false);
    expect(onData(pattern, { Location: 'New York' })).toBe(false);
  });

  it('given Or ["PaymentType": ["Credit", "Debit"]], then either value matches', () => {
    const pattern = { PaymentType: ['Credit', 'Debit'] };
    expect(onData(pattern, { PaymentType: 'Credit' })).toBe(true);
    expect(onData(pattern, { PaymentType: 'Debit' })).toBe(true);
    expect(onData(pattern, { PaymentType: 'Cash' })).toBe(false);
  });

  it('given Or (multiple fields) with $or, then either field may match', () => {
    const pattern = { $or: [{ Location: ['New York'] }, { Day: ['Monday'] }] };
    expect(onData(pattern, { Location: 'New York', Day: 'Sunday' })).toBe(true);
    expect(onData(pattern, { Location: 'Paris', Day: 'Monday' })).toBe(true);
    expect(onData(pattern, { Location: 'Paris', Day: 'Sunday' })).toBe(false);
  });

  it('given Not ["Weather": [{"anything-but": ["Raining"]}]], then any other value matches', () => {
    const pattern = { Weather: [{ 'anything-but': ['Raining'] }] };
    expect(onData(pattern, { Weather: 'Sunny' })).toBe(true);
    expect(onData(pattern, { Weather: 'Raining' })).toBe(false);
    expect(onData(pattern, {})).toBe(false);
  });

  it('given Numeric (equals) ["Price": [{"numeric": ["=", 100]}]], then only the number 100 matches', () => {
    const pattern = { Price: [{ numeric: ['=', 100] }] };
    expect(onData(pattern, { Price: 100 })).toBe(true);
    expect(onData(pattern, JSON.parse('{"Price": 1.0e2}'))).toBe(true);
    expect(onData(pattern, { Price: 100.5 })).toBe(false);
    expect(onData(pattern, { Price: '100' })).toBe(false);
  });

  it('given Numeric (range) [">", 10, "<=", 20], then the bounds are exclusive and inclusive', () => {
    const pattern = { Price: [{ numeric: ['>', 10, '<=', 20] }] };
    expect(onData(pattern, { Price: 20 })).toBe(true);
    expect(onData(pattern, { Price: 10.01 })).toBe(true);
    expect(onData(pattern, { Price: 10 })).toBe(false);
    expect(onData(pattern, { Price: 20.5 })).toBe(false);
  });

  it('given Exists ["ProductName": [{"exists": true}]], then only an event with the field matches', () => {
    const pattern = { ProductName: [{ exists: true }] };
    expect(onData(pattern, { ProductName: 'Widget' })).toBe(true);
    expect(onData(pattern, { ProductName: 0 })).toBe(true);
    expect(onData(pattern, { Price: 3 })).toBe(false);
  });

  it('given Does not exist ["ProductName": [{"exists": false}]], then only an event without it matches', () => {
    const pattern = { ProductName: [{ exists: false }] };
    expect(onData(pattern, { Price: 3 })).toBe(true);
    expect(onData(pattern, { ProductName: 'Widget' })).toBe(false);
  });

  it('given Begins with ["Region": [{"prefix": "us-"}]], then US regions match', () => {
    const pattern = { Region: [{ prefix: 'us-' }] };
    expect(onData(pattern, { Region: 'us-east-1' })).toBe(true);
    expect(onData(pattern, { Region: 'eu-west-1' })).toBe(false);
  });

  it('given Ends with ["FileName": [{"suffix": ".png"}]], then PNG files match', () => {
    const pattern = { FileName: [{ suffix: '.png' }] };
    expect(onData(pattern, { FileName: 'photo.png' })).toBe(true);
    expect(onData(pattern, { FileName: 'photo.PNG' })).toBe(false);
    expect(onData(pattern, { FileName: 'photo.jpg' })).toBe(false);
  });
});

describe('filter patterns: EventBridge comparison operators and content filtering', () => {
  it('given prefix "2017-10-02" on time, then a time of that day matches', () => {
    const pattern = { time: [{ prefix: '2017-10-02' }] };
    expect(onData(pattern, { time: '2017-10-02T18:43:48Z' })).toBe(true);
    expect(onData(pattern, { time: '2017-10-03T18:43:48Z' })).toBe(false);
  });

  it('given prefix with equals-ignore-case "eventb", then "EventBridge" matches', () => {
    const pattern = { service: [{ prefix: { 'equals-ignore-case': 'eventb' } }] };
    expect(onData(pattern, { service: 'EventBridge' })).toBe(true);
    expect(onData(pattern, { service: 'eventbus' })).toBe(true);
    expect(onData(pattern, { service: 'Lambda' })).toBe(false);
  });

  it('given suffix with equals-ignore-case "tbridge", then "EventBridge" and "TBRIDGE" endings match', () => {
    const pattern = { service: [{ suffix: { 'equals-ignore-case': 'tbridge' } }] };
    expect(onData(pattern, { service: 'EventBridge' })).toBe(true);
    expect(onData(pattern, { service: 'EVENTBRIDGE' })).toBe(true);
    expect(onData(pattern, { service: 'EventBridges' })).toBe(false);
  });

  it('given equals-ignore-case, then each character matches its lower or upper case form', () => {
    expect(onData({ word: [{ 'equals-ignore-case': 'straße' }] }, { word: 'STRASSE' })).toBe(true);
    expect(onData({ word: [{ 'equals-ignore-case': 'a.c' }] }, { word: 'abc' })).toBe(false);
  });

  it('given anything-but "initializing", then any other state matches', () => {
    const pattern = { detail: { state: [{ 'anything-but': 'initializing' }] } };
    expect(onData(pattern, { detail: { state: 'running' } })).toBe(true);
    expect(onData(pattern, { detail: { state: 'initializing' } })).toBe(false);
  });

  it('given anything-but 123 and a list of numbers, then other numbers match and listed ones do not', () => {
    expect(onData({ detail: { 'x-limit': [{ 'anything-but': 123 }] } }, { detail: { 'x-limit': 124 } })).toBe(
      true,
    );
    expect(onData({ detail: { 'x-limit': [{ 'anything-but': 123 }] } }, { detail: { 'x-limit': 123 } })).toBe(
      false,
    );
    const list = { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } };
    expect(onData(list, { detail: { 'x-limit': 301.8 } })).toBe(true);
    expect(onData(list, { detail: { 'x-limit': 200 } })).toBe(false);
  });

  it('given anything-but a list of strings, then neither listed state matches', () => {
    const pattern = { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } };
    expect(onData(pattern, { detail: { state: 'running' } })).toBe(true);
    expect(onData(pattern, { detail: { state: 'stopped' } })).toBe(false);
    expect(onData(pattern, { detail: { state: 'overloaded' } })).toBe(false);
  });

  it('given anything-but of one type, then values of another type match (as Event Ruler)', () => {
    expect(onData({ v: [{ 'anything-but': 'x' }] }, { v: 5 })).toBe(true);
    expect(onData({ v: [{ 'anything-but': 'x' }] }, { v: null })).toBe(true);
    expect(onData({ v: [{ 'anything-but': [1, 2] }] }, { v: '1' })).toBe(true);
    expect(onData({ v: [{ 'anything-but': { prefix: 'x' } }] }, { v: true })).toBe(true);
  });

  it('given anything-but prefix "us-", then regions outside the US match', () => {
    const pattern = { Region: [{ 'anything-but': { prefix: 'us-' } }] };
    expect(onData(pattern, { Region: 'eu-west-1' })).toBe(true);
    expect(onData(pattern, { Region: 'us-east-1' })).toBe(false);
    const list = { state: [{ 'anything-but': { prefix: ['init', 'error'] } }] };
    expect(onData(list, { state: 'running' })).toBe(true);
    expect(onData(list, { state: 'error-42' })).toBe(false);
  });

  it('given anything-but suffix ".png", then files with other extensions match', () => {
    const pattern = { FileName: [{ 'anything-but': { suffix: '.png' } }] };
    expect(onData(pattern, { FileName: 'notes.txt' })).toBe(true);
    expect(onData(pattern, { FileName: 'photo.png' })).toBe(false);
    const list = { id: [{ 'anything-but': { suffix: ['1234', '6789'] } }] };
    expect(onData(list, { id: 'i-0000' })).toBe(true);
    expect(onData(list, { id: 'i-6789' })).toBe(false);
  });

  it('given anything-but equals-ignore-case "initializing", then no casing of it matches', () => {
    const pattern = { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] };
    expect(onData(pattern, { state: 'running' })).toBe(true);
    expect(onData(pattern, { state: 'INITIALIZING' })).toBe(false);
    const list = { state: [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'OverLoaded'] } }] };
    expect(onData(list, { state: 'overloaded' })).toBe(false);
    expect(onData(list, { state: 'running' })).toBe(true);
  });

  it('given anything-but wildcard "*/lib/*", then paths outside a lib directory match', () => {
    const pattern = { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] };
    expect(onData(pattern, { FilePath: '/usr/bin/app' })).toBe(true);
    expect(onData(pattern, { FilePath: '/usr/lib/libc.so' })).toBe(false);
  });

  it('given the docs numeric example, then all three numeric fields must hold', () => {
    const pattern = {
      detail: {
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ numeric: ['=', 3.018e2] }],
      },
    };
    expect(onData(pattern, { detail: { 'c-count': 5, 'd-count': 3, 'x-limit': 301.8 } })).toBe(true);
    expect(onData(pattern, { detail: { 'c-count': 0, 'd-count': 3, 'x-limit': 301.8 } })).toBe(false);
    expect(onData(pattern, { detail: { 'c-count': 5, 'd-count': 10, 'x-limit': 301.8 } })).toBe(false);
    expect(onData(pattern, { detail: { 'c-count': 5, 'd-count': 3, 'x-limit': '301.8' } })).toBe(false);
  });

  it('given cidr "10.0.0.0/24", then addresses of the block match and others do not', () => {
    const pattern = { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } };
    expect(onData(pattern, { detail: { sourceIPAddress: '10.0.0.255' } })).toBe(true);
    expect(onData(pattern, { detail: { sourceIPAddress: '10.0.0.0' } })).toBe(true);
    expect(onData(pattern, { detail: { sourceIPAddress: '10.0.1.0' } })).toBe(false);
    expect(onData(pattern, { detail: { sourceIPAddress: 'not an ip' } })).toBe(false);
  });

  it('given an IPv6 cidr, then IPv6 addresses in the block match in any notation, IPv4 ones never', () => {
    const pattern = { ip: [{ cidr: '2001:db8::/32' }] };
    expect(onData(pattern, { ip: '2001:db8::1' })).toBe(true);
    expect(onData(pattern, { ip: '2001:0DB8:0000:0000:0000:0000:0000:ffff' })).toBe(true);
    expect(onData(pattern, { ip: '2001:db9::1' })).toBe(false);
    expect(onData(pattern, { ip: '32.1.13.184' })).toBe(false);
  });

  it('given a cidr with host bits set, then the block is floored (as Event Ruler)', () => {
    expect(onData({ ip: [{ cidr: '10.0.0.77/24' }] }, { ip: '10.0.0.1' })).toBe(true);
  });

  it('given exists false on c-count, then the docs events without a leaf c-count match', () => {
    const pattern = { detail: { 'c-count': [{ exists: false }] } };
    expect(onData(pattern, { detail: { state: ['initializing', 'running'] } })).toBe(true);
    // "also matches ... because c-count isn't a leaf node"
    expect(onData(pattern, { detail: { state: ['initializing'], 'c-count': { c1: 100 } } })).toBe(true);
    expect(onData(pattern, { detail: { 'c-count': 3 } })).toBe(false);
  });

  it('given exists on a null value, then the field exists (exists:false is no way to select nulls)', () => {
    expect(onData({ v: [{ exists: true }] }, { v: null })).toBe(true);
    expect(onData({ v: [{ exists: false }] }, { v: null })).toBe(false);
  });

  it('given exists on an object or an empty array, then the field does not exist (not a leaf)', () => {
    expect(onData({ v: [{ exists: true }] }, { v: { a: 1 } })).toBe(false);
    expect(onData({ v: [{ exists: true }] }, { v: [] })).toBe(false);
    expect(onData({ v: [{ exists: false }] }, { v: [] })).toBe(true);
    expect(onData({ a: { b: [{ exists: false }] } }, { a: [] })).toBe(true);
  });

  it('given wildcard "arn:aws:events:us-east-1:*:event-bus/*", then buses of any account match', () => {
    const pattern = { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] };
    expect(onData(pattern, { EventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/default' })).toBe(
      true,
    );
    expect(onData(pattern, { EventBusArn: 'arn:aws:events:us-west-2:123456789012:event-bus/default' })).toBe(
      false,
    );
  });

  it('given wildcards, then "*" matches any run (even empty) and the rest is literal', () => {
    const matches = (wildcard: string, value: unknown) => onData({ v: [{ wildcard }] }, { v: value });
    expect(matches('Simple*Service', 'SimpleNotificationService')).toBe(true);
    expect(matches('Simple*Service', 'SimpleService')).toBe(true);
    expect(matches('Simple*Service', 'SimpleServices')).toBe(false);
    expect(matches('*a*a*', 'banana')).toBe(true);
    expect(matches('a*a', 'a')).toBe(false);
    expect(matches('x.y', 'xzy')).toBe(false);
    expect(matches('*', '')).toBe(true);
    expect(matches('*', 5)).toBe(false);
  });

  it('given escaped wildcards, then "\\*" is a literal star and "\\\\" a literal backslash', () => {
    const matches = (wildcard: string, value: string) => onData({ v: [{ wildcard }] }, { v: value });
    expect(matches('2\\*3=*', '2*3=6')).toBe(true);
    expect(matches('2\\*3', '2x3')).toBe(false);
    expect(matches('C:\\\\*', 'C:\\Windows')).toBe(true);
    expect(matches('a\\**', 'a*bc')).toBe(true);
  });

  it('given the docs complex example, then every condition must hold', () => {
    const pattern = {
      time: [{ prefix: '2017-10-02' }],
      detail: {
        state: [{ 'anything-but': 'initializing' }],
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ 'anything-but': [100, 200, 300] }],
        'source-ip': [{ cidr: '10.0.0.0/8' }],
      },
    };
    const event = {
      time: '2017-10-02T16:24:49Z',
      detail: { 'c-count': 5, 'd-count': 3, 'x-limit': 301.8, 'source-ip': '10.0.0.33', state: 'running' },
    };
    expect(onData(pattern, event)).toBe(true);
    expect(onData(pattern, { ...event, detail: { ...event.detail, state: 'initializing' } })).toBe(false);
    expect(onData(pattern, { ...event, detail: { ...event.detail, 'x-limit': 300 } })).toBe(false);
    expect(onData(pattern, { ...event, detail: { ...event.detail, 'source-ip': '11.0.0.1' } })).toBe(false);
  });

  it('given $or with an AND inside a branch, then a branch must match all its fields', () => {
    const pattern = {
      source: ['aws.cloudwatch'],
      $or: [
        { metricName: ['CPUUtilization', 'ReadLatency'] },
        { metricType: ['MetricType'], namespace: ['AWS/EC2', 'AWS/ES'] },
        { scope: ['Service'] },
      ],
    };
    expect(onData(pattern, { source: 'aws.cloudwatch', metricName: 'ReadLatency' })).toBe(true);
    expect(onData(pattern, { source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/ES' })).toBe(
      true,
    );
    expect(onData(pattern, { source: 'aws.cloudwatch', namespace: 'AWS/ES' })).toBe(false);
    expect(onData(pattern, { source: 'aws.sqs', scope: 'Service' })).toBe(false);
  });

  it('given parallel and nested $or, then each $or must have a matching branch', () => {
    const pattern = {
      $or: [{ metricName: ['CPUUtilization'] }, { namespace: ['AWS/EC2'] }],
      detail: {
        $or: [
          { source: ['aws.cloudwatch'] },
          { 'detail-type': ['CloudWatch Alarm State Change'], $or: [{ id: [1234] }, { spaceId: [1000] }] },
        ],
      },
    };
    expect(onData(pattern, { namespace: 'AWS/EC2', detail: { source: 'aws.cloudwatch' } })).toBe(true);
    expect(
      onData(pattern, {
        metricName: 'CPUUtilization',
        detail: { 'detail-type': 'CloudWatch Alarm State Change', spaceId: 1000 },
      }),
    ).toBe(true);
    expect(
      onData(pattern, {
        metricName: 'CPUUtilization',
        detail: { 'detail-type': 'CloudWatch Alarm State Change' },
      }),
    ).toBe(false);
    expect(onData(pattern, { detail: { source: 'aws.cloudwatch' } })).toBe(false);
  });
});

describe('filter patterns: values and types', () => {
  it('given a string condition, then it never matches a number, and a number never matches a string', () => {
    expect(onData({ v: ['5'] }, { v: 5 })).toBe(false);
    expect(onData({ v: [5] }, { v: '5' })).toBe(false);
    expect(onData({ v: [{ prefix: '5' }] }, { v: 55 })).toBe(false);
    expect(onData({ v: [{ numeric: ['>', 0] }] }, { v: '5' })).toBe(false);
    expect(onData({ v: [{ numeric: ['>', 0] }] }, { v: true })).toBe(false);
  });

  it('given booleans, then true matches true only, not "true" nor 1', () => {
    expect(onData({ v: [true] }, { v: true })).toBe(true);
    expect(onData({ v: [true] }, { v: 'true' })).toBe(false);
    expect(onData({ v: [true] }, { v: 1 })).toBe(false);
    expect(onData({ v: ['true'] }, { v: true })).toBe(false);
  });

  it('given a number condition, then numbers compare by value', () => {
    expect(onData({ v: [300] }, JSON.parse('{"v": 3.0e2}'))).toBe(true);
    expect(onData({ v: [0] }, { v: -0 })).toBe(true);
  });

  it('given an event array, then the condition matches when any element matches', () => {
    expect(onData({ tags: ['b'] }, { tags: ['a', 'b'] })).toBe(true);
    expect(onData({ tags: ['c'] }, { tags: ['a', 'b'] })).toBe(false);
    expect(onData({ tags: ['c'] }, { tags: [['a'], ['c']] })).toBe(true);
    expect(onData({ n: [{ numeric: ['>', 10] }] }, { n: [1, 20] })).toBe(true);
    expect(onData({ tags: [{ 'anything-but': 'a' }] }, { tags: ['a', 'b'] })).toBe(true);
    expect(onData({ tags: [{ 'anything-but': 'a' }] }, { tags: ['a'] })).toBe(false);
  });

  it('given an array of objects, then the fields of a pattern must match within one element', () => {
    const employees = [
      { firstName: 'John', lastName: 'Doe' },
      { firstName: 'Anna', lastName: 'Smith' },
      { firstName: 'Peter', lastName: 'Jones' },
    ];
    expect(onData({ employees: { firstName: ['Anna'] } }, { employees })).toBe(true);
    expect(onData({ employees: { firstName: ['Anna'], lastName: ['Smith'] } }, { employees })).toBe(true);
    expect(onData({ employees: { firstName: ['Anna'], lastName: ['Jones'] } }, { employees })).toBe(false);
    expect(
      onData({ employees: { firstName: ['Peter'] } }, { employees: [[employees[0]], [employees[2]]] }),
    ).toBe(true);
  });

  it('given exists false under an array of objects, then the field must be absent from every element', () => {
    const event = { items: [{ sku: 'a' }, { name: 'b' }] };
    expect(onData({ items: { sku: [{ exists: true }] } }, event)).toBe(true);
    expect(onData({ items: { sku: [{ exists: false }] } }, event)).toBe(false);
    expect(onData({ items: { price: [{ exists: false }] } }, event)).toBe(true);
  });

  it('given a nested pattern on a field that is not an object, then only exists:false can match', () => {
    expect(onData({ a: { b: ['x'] } }, { a: 'x' })).toBe(false);
    expect(onData({ a: { b: [{ exists: false }] } }, { a: 'x' })).toBe(true);
    expect(onData({ a: { b: [{ exists: false }] } }, {})).toBe(true);
  });

  it('given a leaf condition on an object value, then only exists:false matches (objects are not leaves)', () => {
    expect(onData({ a: ['x'] }, { a: { b: 'x' } })).toBe(false);
    expect(onData({ a: [{ 'anything-but': 'x' }] }, { a: { b: 'y' } })).toBe(false);
  });

  it('given a field named like an Object prototype member, then it is looked up as an own field only', () => {
    expect(onData({ constructor: [{ exists: true }] }, {})).toBe(false);
    expect(onData({ toString: [{ exists: false }] }, { a: 1 })).toBe(true);
  });
});

describe('filter patterns: Kinesis replay records', () => {
  it('given the telemetry example pattern, then press records of type "record" match', () => {
    const pattern = { data: { type: ['record'], data: { machine: [{ prefix: 'press-0' }] } } };
    const matches = compileFilter(pattern);
    expect(matches(record(telemetry()))).toBe(true);
    expect(matches(record(telemetry({ type: 'heartbeat' })))).toBe(false);
    expect(matches(record(telemetry({ data: { machine: 'lathe-01' } })))).toBe(false);
  });

  it('given a partition key filter, then record metadata is matched beside the payload', () => {
    const matches = compileFilter({ partitionKey: [{ 'anything-but': ['a'] }] });
    expect(matches(record(telemetry(), { partitionKey: 'b' }))).toBe(true);
    expect(matches(record(telemetry(), { partitionKey: 'a' }))).toBe(false);
  });

  it('given a numeric range on a nested attribute and on the arrival time, then both must hold', () => {
    const from = Date.UTC(2024, 10, 21, 9);
    const matches = compileFilter({
      approximateArrivalTimestamp: [{ numeric: ['>=', from, '<', from + 3_600_000] }],
      data: { data: { attributes: { temperature: { value: [{ numeric: ['>', 20] }] } } } },
    });
    expect(matches(record(telemetry()))).toBe(true);
    expect(matches(record(telemetry(), { approximateArrivalTimestamp: from + 3_600_000 }))).toBe(false);
    const cold = telemetry({ data: { machine: 'press-01', attributes: { temperature: { value: 4 } } } });
    expect(matches(record(cold))).toBe(false);
  });

  it('given an array of patterns, then a record matching any of them is selected', () => {
    const matches = compileFilter([
      { data: { host: ['spark-2'] } },
      { data: { data: { attributes: { pressure: [{ exists: true }] } } } },
      { partitionKey: [{ wildcard: 'press-*' }] },
    ]);
    expect(matches(record(telemetry({ host: 'spark-2' }), { partitionKey: 'x' }))).toBe(true);
    expect(matches(record(telemetry({ host: 'spark-1' }), { partitionKey: 'press-02' }))).toBe(true);
    expect(matches(record({ type: 'record', host: 'spark-1' }, { partitionKey: 'lathe-01' }))).toBe(false);
  });

  it('given a payload that is not JSON (a string), then string operators apply to it and nested fields do not', () => {
    expect(compileFilter({ data: [{ prefix: 'GET /' }] })(record('GET /index.html 200'))).toBe(true);
    expect(compileFilter({ data: { type: ['record'] } })(record('type=record'))).toBe(false);
    expect(compileFilter({ data: [{ numeric: ['>', 1] }] })(record('2'))).toBe(false);
  });

  it('given a payload that is a JSON array or scalar, then conditions apply to its elements or itself', () => {
    expect(compileFilter({ data: { type: ['record'] } })(record([{ type: 'x' }, { type: 'record' }]))).toBe(
      true,
    );
    expect(compileFilter({ data: [{ numeric: ['>', 1] }] })(record(2))).toBe(true);
  });

  it('given one compiled filter, then it can be applied to many records', () => {
    const matches = compileFilter({ data: { host: [{ 'equals-ignore-case': 'SPARK-1' }] } });
    const records = Array.from({ length: 100 }, (_, i) => record(telemetry({ host: `spark-${i % 4}` })));
    expect(records.filter(matches)).toHaveLength(25);
  });
});

describe('filter patterns: properties', () => {
  const text = fc.string({ maxLength: 12 });

  it('for any strings, then "anything-but [v]" is the negation of "[v]" when the field holds a string', () => {
    fc.assert(
      fc.property(text, text, (v, value) => {
        const equal = onData({ f: [v] }, { f: value });
        const anythingBut = onData({ f: [{ 'anything-but': [v] }] }, { f: value });
        return anythingBut === !equal;
      }),
    );
  });

  it('for any strings, then anything-but prefix/suffix/equals-ignore-case negate their operator', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('prefix', 'suffix', 'equals-ignore-case'),
        text,
        text,
        (op, operand, value) => {
          fc.pre(operand !== '');
          const plain = onData({ f: [{ [op]: operand }] }, { f: value });
          const negated = onData({ f: [{ 'anything-but': { [op]: operand } }] }, { f: value });
          return negated === !plain;
        },
      ),
    );
  });

  it('for any string, then a wildcard without "*" is an exact match and "*"-joined parts match the joined text', () => {
    const plain = fc.string({ maxLength: 8 }).filter((s) => !s.includes('*') && !s.includes('\\'));
    fc.assert(
      fc.property(plain, plain, plain, (a, b, c) => {
        const joined = onData({ f: [{ wildcard: `${a}*${c}` }] }, { f: `${a}${b}${c}` });
        const exact =
          onData({ f: [{ wildcard: a }] }, { f: a }) && !onData({ f: [{ wildcard: a }] }, { f: `${a}x` });
        return joined && exact;
      }),
    );
  });

  it('for any numbers, then a numeric range matches exactly the numbers between its bounds', () => {
    const num = fc.double({ noNaN: true, noDefaultInfinity: true });
    fc.assert(
      fc.property(num, num, num, (x, y, value) => {
        fc.pre(x < y);
        const inRange = onData({ f: [{ numeric: ['>=', x, '<', y] }] }, { f: value });
        return inRange === (value >= x && value < y);
      }),
    );
  });
});

describe('filter patterns: validation', () => {
  it('given valid patterns, then validateFilter returns them as an array', () => {
    const one = { data: { type: ['record'] } };
    expect(validateFilter(one)).toEqual([one]);
    expect(validateFilter([one, { partitionKey: ['a'] }])).toHaveLength(2);
  });

  it('given a non-object pattern, then it names the request field', () => {
    expectInvalid('data', 'field filter: must be an object of fields (pattern)');
    expectInvalid(null, 'field filter: must be an object of fields (pattern)');
    expectInvalid([{ a: ['x'] }, 3], 'field filter[1]: must be an object of fields (pattern)');
    expect(() => validateFilter(7, 'replay.filter')).toThrow(
      'field replay.filter: must be an object of fields',
    );
  });

  it('given an empty pattern, an empty object or an empty array of patterns, then it is refused', () => {
    expectInvalid({}, 'field filter: must not be an empty object (pattern)');
    expectInvalid({ data: {} }, 'field filter.data: must not be an empty object (pattern)');
    expectInvalid([], 'field filter: must hold at least one pattern (pattern)');
  });

  it('given a leaf that is not an array, then it names the field path', () => {
    expectInvalid(
      { data: { type: 'record' } },
      'field filter.data.type: must be an array of match conditions or an object of fields (pattern)',
    );
    expectInvalid({ data: { n: 5 } }, /field filter\.data\.n: must be an array/);
  });

  it('given an empty leaf array or a nested array condition, then it is refused', () => {
    expectInvalid({ data: { type: [] } }, 'field filter.data.type: must not be an empty array (pattern)');
    expectInvalid(
      { type: [['a']] },
      /field filter\.type: a match condition must be a string, number, boolean/,
    );
  });

  it('given an unknown operator or several operators in one object, then it names the operator', () => {
    expectInvalid({ type: [{ contains: 'x' }] }, 'field filter.type: unknown operator "contains" (operator)');
    expectInvalid({ type: [{ exactly: 'x' }] }, 'unknown operator "exactly"');
    expectInvalid(
      { type: [{ prefix: 'a', suffix: 'b' }] },
      'field filter.type: an operator object must hold exactly one operator, got "prefix", "suffix" (operator)',
    );
    expectInvalid({ type: [{}] }, 'got none (operator)');
  });

  it('given operands of the wrong type, then the message names the operator as the rule', () => {
    expectInvalid(
      { data: { type: [{ prefix: 5 }] } },
      'field filter.data.type: "prefix" expects a string (prefix)',
    );
    expectInvalid({ t: [{ suffix: ['a'] }] }, '"suffix" expects a string (suffix)');
    expectInvalid({ t: [{ 'equals-ignore-case': ['a'] }] }, '"equals-ignore-case" expects a string');
    expectInvalid({ t: [{ wildcard: 5 }] }, '"wildcard" expects a string (wildcard)');
    expectInvalid({ t: [{ cidr: 10 }] }, '"cidr" expects a string (cidr)');
    expectInvalid({ t: [{ exists: 'yes' }] }, '"exists" expects true or false (exists)');
    expectInvalid({ t: [{ prefix: { 'equals-ignore-case': 5 } }] }, /"prefix" expects a string or \{"equals/);
    expectInvalid({ t: [{ suffix: { other: 'x' } }] }, /"suffix" expects a string or \{"equals-ignore-case"/);
  });

  it('given malformed anything-but operands, then they are refused as Event Ruler refuses them', () => {
    expectInvalid({ t: [{ 'anything-but': ['a', 1] }] }, /only strings or only numbers \(anything-but\)/);
    expectInvalid({ t: [{ 'anything-but': [] }] }, /non-empty list/);
    expectInvalid({ t: [{ 'anything-but': null }] }, /"anything-but" expects a string, a number/);
    expectInvalid({ t: [{ 'anything-but': [true] }] }, /only strings or only numbers/);
    expectInvalid({ t: [{ 'anything-but': { foo: 3 } }] }, /"anything-but" accepts one of "prefix"/);
    expectInvalid({ t: [{ 'anything-but': { prefix: 27 } }] }, /"anything-but" \/ "prefix" expects a string/);
    expectInvalid({ t: [{ 'anything-but': { prefix: '' } }] }, '"anything-but" / "prefix" must not be empty');
    expectInvalid(
      { t: [{ 'anything-but': { suffix: ['1', ''] } }] },
      '"anything-but" / "suffix" must not be empty',
    );
    expectInvalid({ t: [{ 'anything-but': { prefix: 'a', suffix: 'b' } }] }, /accepts one of/);
    expectInvalid(
      { t: [{ 'anything-but': { wildcard: 'a**b' } }] },
      /consecutive "\*" \(position 1\) \(anything-but\)/,
    );
  });

  it('given malformed numeric operands, then the comparison rule broken is named', () => {
    const numeric = (operand: unknown) => ({ price: [{ numeric: operand }] });
    expectInvalid(
      numeric(5),
      'field filter.price: "numeric" expects an array such as [">", 0, "<=", 5] (numeric)',
    );
    expectInvalid(numeric([]), /expects an array/);
    expectInvalid(
      numeric(['!=', 5]),
      '"numeric" has unknown comparison "!="; use one of =, <, <=, >, >= (numeric)',
    );
    expectInvalid(numeric(['=', '5']), '"numeric" expects a number after "=" (numeric)');
    expectInvalid(numeric(['=']), '"numeric" expects a number after "="');
    expectInvalid(numeric(['=', true]), '"numeric" expects a number after "="');
    expectInvalid(
      numeric(['>', 30, '<', 1]),
      '"numeric" lower bound 30 must be less than upper bound 1 (numeric)',
    );
    expectInvalid(numeric(['>=', 1, '<=', 1]), 'lower bound 1 must be less than upper bound 1');
    expectInvalid(
      numeric(['<', 1, '>', 0]),
      /range must be a lower bound \(">" or ">="\) then an upper bound/,
    );
    expectInvalid(numeric(['=', 1, '<', 5]), /range must be a lower bound/);
    expectInvalid(numeric(['>', 0, '<', 5, '<', 6]), '"numeric" accepts at most 2 comparisons (numeric)');
    expectInvalid(numeric(['>', 1, '<', 30, false]), 'at most 2 comparisons');
    expectInvalid(numeric(['>', Infinity]), 'expects a number after ">"');
  });

  it('given valid numeric operands, then they are accepted', () => {
    for (const operand of [
      ['=', 3.8],
      ['<', -4e-6],
      ['>=', 55555],
      ['>', 0, '<', 1],
      ['>=', 0, '<=', 1],
    ]) {
      expect(() => validateFilter({ x: [{ numeric: operand }] })).not.toThrow();
    }
  });

  it('given invalid wildcards, then consecutive "*" and stray backslashes are refused', () => {
    expectInvalid(
      { f: [{ wildcard: 'a**b' }] },
      'field filter.f: "wildcard" must not hold consecutive "*" (position 1)',
    );
    expectInvalid(
      { f: [{ wildcard: 'a\\b' }] },
      '"wildcard" allows a backslash only before "*" or "\\" (position 1)',
    );
    expectInvalid({ f: [{ wildcard: 'ab\\' }] }, /allows a backslash only/);
    expect(() => validateFilter({ f: [{ wildcard: '' }] })).not.toThrow();
    expect(() => validateFilter({ f: [{ wildcard: '\\**' }] })).not.toThrow();
  });

  it('given invalid cidr blocks, then address and mask rules are named', () => {
    expectInvalid(
      { ip: [{ cidr: 'foo' }] },
      'field filter.ip: "cidr" expects an address/mask such as "10.0.0.0/24"',
    );
    expectInvalid({ ip: [{ cidr: '10.0.0.256/8' }] }, '"cidr" has an invalid IP address "10.0.0.256" (cidr)');
    expectInvalid({ ip: [{ cidr: '10.0.0.0/x' }] }, /mask must be an integer from 0 to 31 for IPv4, got "x"/);
    expectInvalid({ ip: [{ cidr: '10.0.0.1/32' }] }, /from 0 to 31 for IPv4/);
    expectInvalid({ ip: [{ cidr: '::1/128' }] }, /from 0 to 127 for IPv6/);
    expectInvalid({ ip: [{ cidr: '1:2:3:4:5:6:7:8:9/64' }] }, /invalid IP address/);
    expectInvalid({ ip: [{ cidr: '10.0.0.0/8/8' }] }, /expects an address\/mask/);
  });

  it('given malformed $or, then the $or rule is named', () => {
    expectInvalid(
      { $or: [{ a: ['x'] }] },
      'field filter.$or: "$or" expects an array of at least 2 patterns ($or)',
    );
    expectInvalid({ $or: { a: ['x'] } }, /"\$or" expects an array/);
    expectInvalid(
      { $or: [{ a: ['x'] }, 'b'] },
      'field filter.$or[1]: "$or" accepts only pattern objects ($or)',
    );
    expectInvalid(
      { data: { $or: [{ a: ['x'] }, {}] } },
      'field filter.data.$or[1]: must not be an empty object',
    );
    expectInvalid(
      { $or: [{ numeric: [123] }, { prefix: ['abc'] }] },
      'field filter.$or[0].numeric: "numeric" is an operator name and cannot be a field name inside "$or" ($or)',
    );
    expectInvalid(
      { $or: [{ a: { cidr: ['x'] } }, { b: ['y'] }] },
      /filter\.\$or\[0\]\.a\.cidr: "cidr" is an operator/,
    );
  });

  it('given operator names as field names outside $or, then they are ordinary fields', () => {
    expect(onData({ prefix: ['x'] }, { prefix: 'x' })).toBe(true);
  });

  it('given a malformed condition deep in $or, then the path names the branch', () => {
    expectInvalid(
      [{ a: ['x'] }, { data: { $or: [{ t: ['x'] }, { u: [{ numeric: ['>', 'low'] }] }] } }],
      'field filter[1].data.$or[1].u: "numeric" expects a number after ">" (numeric)',
    );
  });

  it('given an invalid pattern, then compileFilter refuses it too', () => {
    expect(() => compileFilter({ data: { type: [{ prefix: 5 }] } })).toThrow(
      'field filter.data.type: "prefix" expects a string (prefix)',
    );
  });
});
