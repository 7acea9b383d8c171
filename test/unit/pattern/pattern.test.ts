/**
 * The event-pattern matcher, case by case from the examples of AWS's
 * EventBridge user guide ("Event patterns", "Comparison operators for use in
 * event patterns", "Matching null values and empty strings", "Arrays"); each
 * pattern with events that match and events that do not.
 */
import { compilePattern, PatternError } from '../../../src/pattern';

/** The example event the EventBridge documentation matches its patterns against. */
const EC2_EVENT = {
  version: '0',
  id: 'ddddd4-aaaa-7777-4444-345dd43cc333',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '012345679012',
  time: '2017-10-02T16:24:49Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
  detail: {
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    'source-ip': '10.0.0.33',
    'instance-id': 'i-000000aaaaaa00000',
    state: 'running',
  },
};

type Json = Record<string, unknown>;

/** The documentation event with `detail` fields replaced (undefined removes a field). */
function ec2(detail: Json = {}, top: Json = {}): Json {
  const d: Json = { ...EC2_EVENT.detail, ...detail };
  for (const k of Object.keys(d)) if (d[k] === undefined) delete d[k];
  return { ...EC2_EVENT, ...top, detail: d };
}

interface Case {
  pattern: Json;
  match: Json[];
  noMatch: Json[];
}

const cases: Record<string, Case> = {
  'exact values and nested objects (AND across fields, OR within a field)': {
    pattern: {
      source: ['aws.ec2'],
      'detail-type': ['EC2 Instance State-change Notification'],
      detail: { state: ['initializing', 'running'] },
    },
    match: [ec2(), ec2({ state: 'initializing' })],
    noMatch: [ec2({ state: 'stopped' }), ec2({}, { source: 'aws.fargate' }), ec2({ state: undefined })],
  },
  'multiple values of one field: {"source": ["aws.ec2", "aws.fargate"]}': {
    pattern: { source: ['aws.ec2', 'aws.fargate'] },
    match: [ec2(), ec2({}, { source: 'aws.fargate' })],
    noMatch: [ec2({}, { source: 'aws.s3' })],
  },
  'numbers, booleans and null as exact values': {
    pattern: { detail: { 'c-count': [5], enabled: [true], responseElements: [null] } },
    match: [
      ec2({ enabled: true, responseElements: null }),
      ec2({ 'c-count': 5.0, enabled: true, responseElements: null }),
    ],
    noMatch: [
      ec2({ 'c-count': '5', enabled: true, responseElements: null }), // a string is not the number
      ec2({ enabled: 'true', responseElements: null }),
      ec2({ enabled: true }), // null must be present, not absent
      ec2({ enabled: false, responseElements: null }),
    ],
  },
  'null values and empty strings (docs: eventVersion [""], responseElements [null])': {
    pattern: { detail: { eventVersion: [''], responseElements: [null] } },
    match: [ec2({ eventVersion: '', responseElements: null })],
    noMatch: [ec2({ eventVersion: '1.0', responseElements: null }), ec2({ eventVersion: '' })],
  },
  'arrays in events: match when the intersection is not empty (docs: resources)': {
    pattern: {
      resources: [
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
      ],
    },
    match: [
      ec2(
        {},
        {
          resources: [
            'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate',
            'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
          ],
        },
      ),
    ],
    noMatch: [
      ec2(
        {},
        {
          resources: [
            'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate',
          ],
        },
      ),
      ec2({}, { resources: [] }),
    ],
  },
  'arrays of objects: one element must match the whole sub-pattern': {
    pattern: { detail: { disks: { type: ['ssd'], size: [{ numeric: ['>=', 100] }] } } },
    match: [
      ec2({
        disks: [
          { type: 'hdd', size: 500 },
          { type: 'ssd', size: 200 },
        ],
      }),
    ],
    noMatch: [
      ec2({
        disks: [
          { type: 'hdd', size: 500 },
          { type: 'ssd', size: 50 },
        ],
      }),
      ec2({ disks: [] }),
    ],
  },
  'prefix: {"time": [{"prefix": "2017-10-02"}]}': {
    pattern: { time: [{ prefix: '2017-10-02' }] },
    match: [ec2()],
    noMatch: [ec2({}, { time: '2017-10-03T16:24:49Z' }), ec2({}, { time: 20171002 })],
  },
  'prefix ignoring case: {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}': {
    pattern: { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } },
    match: [ec2({ service: 'EventBridge' }), ec2({ service: 'EVENTBRIDGE' }), ec2({ service: 'eventb' })],
    noMatch: [ec2({ service: 'Lambda' }), ec2({ service: 'xEventBridge' }), ec2()],
  },
  'suffix: {"FileName": [{"suffix": ".png"}]}': {
    pattern: { detail: { FileName: [{ suffix: '.png' }] } },
    match: [ec2({ FileName: 'image.png' })],
    noMatch: [ec2({ FileName: 'image.PNG' }), ec2({ FileName: 'image.png.jpg' }), ec2()],
  },
  'suffix ignoring case: {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}': {
    pattern: { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } },
    match: [ec2({ FileName: 'image.png' }), ec2({ FileName: 'IMAGE.PNG' })],
    noMatch: [ec2({ FileName: 'image.jpg' })],
  },
  'equals-ignore-case: {"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]}': {
    pattern: { 'detail-type': [{ 'equals-ignore-case': 'ec2 instance state-change notification' }] },
    match: [ec2(), ec2({}, { 'detail-type': 'EC2 INSTANCE STATE-CHANGE NOTIFICATION' })],
    noMatch: [ec2({}, { 'detail-type': 'EC2 Instance State-change' })],
  },
  'wildcard: {"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]}': {
    pattern: { detail: { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] } },
    match: [
      ec2({ EventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/default' }),
      ec2({ EventBusArn: 'arn:aws:events:us-east-1::event-bus/' }),
    ],
    noMatch: [
      ec2({ EventBusArn: 'arn:aws:events:us-west-2:123456789012:event-bus/default' }),
      ec2({ EventBusArn: 'arn:aws:events:us-east-1:123456789012:rule/x' }),
    ],
  },
  'wildcard: {"Filename": [{"wildcard": "dir/*.png"}]}, with escaped "*" and regex characters literal': {
    pattern: { detail: { Filename: [{ wildcard: 'dir/*.png' }], Note: [{ wildcard: 'a\\*b(c)*' }] } },
    match: [
      ec2({ Filename: 'dir/image.png', Note: 'a*b(c)' }),
      ec2({ Filename: 'dir/sub/image.png', Note: 'a*b(c) and more' }),
    ],
    noMatch: [
      ec2({ Filename: 'dir/image.jpg', Note: 'a*b(c)' }),
      ec2({ Filename: 'dir/imageXpng', Note: 'a*b(c)' }), // "." is literal
      ec2({ Filename: 'dir/image.png', Note: 'axb(c)' }), // "\*" is a literal asterisk
    ],
  },
  'anything-but a string: {"state": [{"anything-but": "initializing"}]}': {
    pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } },
    match: [ec2(), ec2({ state: 'stopped' })],
    noMatch: [ec2({ state: 'initializing' }), ec2({ state: undefined })],
  },
  'anything-but a number: {"x-limit": [{"anything-but": 123}]}': {
    pattern: { detail: { 'x-limit': [{ 'anything-but': 123 }] } },
    match: [ec2(), ec2({ 'x-limit': 124 })],
    noMatch: [ec2({ 'x-limit': 123 }), ec2({ 'x-limit': 123.0 })],
  },
  'anything-but a list of strings: ["stopped", "overloaded"]': {
    pattern: { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
    match: [ec2(), ec2({ state: 'initializing' })],
    noMatch: [ec2({ state: 'stopped' }), ec2({ state: 'overloaded' })],
  },
  'anything-but a list of numbers: [100, 200, 300]': {
    pattern: { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } },
    match: [ec2(), ec2({ 'x-limit': 150 })],
    noMatch: [ec2({ 'x-limit': 200 }), ec2({ 'x-limit': 300 })],
  },
  'anything-but prefix: {"state": [{"anything-but": {"prefix": "init"}}]}': {
    pattern: { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
    match: [ec2(), ec2({ state: 'stopped' })],
    noMatch: [ec2({ state: 'initializing' }), ec2({ state: 'init' })],
  },
  'anything-but suffix: {"FileName": [{"anything-but": {"suffix": ".png"}}]}': {
    pattern: { detail: { FileName: [{ 'anything-but': { suffix: '.png' } }] } },
    match: [ec2({ FileName: 'image.jpg' })],
    noMatch: [ec2({ FileName: 'image.png' }), ec2()],
  },
  'anything-but ignoring case: {"anything-but": {"equals-ignore-case": ["Stopped", "OverLoaded"]}}': {
    pattern: { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'OverLoaded'] } }] } },
    match: [ec2(), ec2({ state: 'initializing' })],
    noMatch: [ec2({ state: 'stopped' }), ec2({ state: 'STOPPED' }), ec2({ state: 'overloaded' })],
  },
  'anything-but wildcard: {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}': {
    pattern: { detail: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] } },
    match: [ec2({ FilePath: '/usr/bin/env' })],
    noMatch: [ec2({ FilePath: '/usr/lib/libc.so' }), ec2()],
  },
  'anything-but wildcard list: {"anything-but": {"wildcard": ["*/lib/*", "*/bin/*"]}}': {
    pattern: { detail: { FilePath: [{ 'anything-but': { wildcard: ['*/lib/*', '*/bin/*'] } }] } },
    match: [ec2({ FilePath: '/etc/hosts' })],
    noMatch: [ec2({ FilePath: '/usr/lib/libc.so' }), ec2({ FilePath: '/usr/bin/env' })],
  },
  'numeric ranges and "=" (docs: c-count, d-count, x-limit)': {
    pattern: {
      detail: {
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ numeric: ['=', 3.018e2] }],
      },
    },
    match: [ec2(), ec2({ 'c-count': 0.5, 'd-count': -3 })],
    noMatch: [
      ec2({ 'c-count': 0 }),
      ec2({ 'c-count': 6 }),
      ec2({ 'd-count': 10 }),
      ec2({ 'x-limit': 301.9 }),
      ec2({ 'c-count': '5' }), // numeric applies to JSON numbers only
    ],
  },
  'numeric with ">=" and "<" bounds': {
    pattern: { detail: { 'c-count': [{ numeric: ['>=', 5, '<', 6] }] } },
    match: [ec2(), ec2({ 'c-count': 5.999 })],
    noMatch: [ec2({ 'c-count': 4.999 }), ec2({ 'c-count': 6 })],
  },
  'cidr IPv4: {"source-ip": [{"cidr": "10.0.0.0/24"}]}': {
    pattern: { detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } },
    match: [ec2(), ec2({ 'source-ip': '10.0.0.255' })],
    noMatch: [
      ec2({ 'source-ip': '10.0.1.1' }),
      ec2({ 'source-ip': 'not-an-ip' }),
      ec2({ 'source-ip': '2001:db8::1' }),
    ],
  },
  'cidr IPv4 with a /8 block (docs complex example)': {
    pattern: { detail: { 'source-ip': [{ cidr: '10.0.0.0/8' }] } },
    match: [ec2(), ec2({ 'source-ip': '10.255.1.2' })],
    noMatch: [ec2({ 'source-ip': '11.0.0.1' })],
  },
  'cidr IPv6: {"sourceIPAddress": [{"cidr": "2001:db8::/32"}]}': {
    pattern: { detail: { sourceIPAddress: [{ cidr: '2001:db8::/32' }] } },
    match: [
      ec2({ sourceIPAddress: '2001:db8::1' }),
      ec2({ sourceIPAddress: '2001:0db8:ffff:ffff:ffff:ffff:ffff:ffff' }),
    ],
    noMatch: [ec2({ sourceIPAddress: '2001:db9::1' }), ec2({ sourceIPAddress: '10.0.0.33' }), ec2()],
  },
  'cidr IPv6 with an odd prefix length and an embedded IPv4 tail': {
    pattern: { detail: { ip: [{ cidr: 'fe80::/10' }, { cidr: '::ffff:10.0.0.0/120' }] } },
    match: [ec2({ ip: 'febf::1' }), ec2({ ip: '::ffff:10.0.0.7' })],
    noMatch: [ec2({ ip: 'fec0::1' }), ec2({ ip: '::ffff:10.0.1.7' })],
  },
  'exists true: {"c-count": [{"exists": true}]}': {
    pattern: { detail: { 'c-count': [{ exists: true }] } },
    match: [ec2(), ec2({ 'c-count': null })],
    noMatch: [ec2({ 'c-count': undefined }), ec2({ 'c-count': { c1: 100 } })], // only leaves exist
  },
  'exists false: {"c-count": [{"exists": false}]} (an object at c-count is not a leaf)': {
    pattern: { detail: { 'c-count': [{ exists: false }] } },
    match: [ec2({ 'c-count': undefined }), ec2({ 'c-count': { c1: 100 } }), { source: 'aws.ec2' }],
    noMatch: [ec2(), ec2({ 'c-count': 0 })],
  },
  'complex example of the docs': {
    pattern: {
      time: [{ prefix: '2017-10-02' }],
      detail: {
        state: [{ 'anything-but': 'initializing' }],
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ 'anything-but': [100, 200, 300] }],
        'source-ip': [{ cidr: '10.0.0.0/8' }],
      },
    },
    match: [ec2()],
    noMatch: [ec2({ state: 'initializing' }), ec2({ 'x-limit': 200 }), ec2({ 'source-ip': '192.168.0.1' })],
  },
  '$or across fields: c-count, d-count or x-limit (docs)': {
    pattern: {
      detail: {
        $or: [
          { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] },
          { 'd-count': [{ numeric: ['<', 10] }] },
          { 'x-limit': [{ numeric: ['=', 3.018e2] }] },
        ],
      },
    },
    match: [ec2(), ec2({ 'c-count': 50, 'd-count': 50 }), ec2({ 'c-count': 50, 'x-limit': 1 })],
    noMatch: [ec2({ 'c-count': 50, 'd-count': 50, 'x-limit': 1 })],
  },
  '$or with an AND inside and next to other fields': {
    pattern: {
      source: ['aws.cloudwatch'],
      $or: [
        { metricName: ['CPUUtilization', 'ReadLatency'] },
        { metricType: ['MetricType'], namespace: ['AWS/EC2', 'AWS/ES'] },
        { scope: ['Service'] },
      ],
    },
    match: [
      { source: 'aws.cloudwatch', metricName: 'ReadLatency' },
      { source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/ES' },
      { source: 'aws.cloudwatch', scope: 'Service' },
    ],
    noMatch: [
      { source: 'aws.ec2', metricName: 'ReadLatency' },
      { source: 'aws.cloudwatch', metricType: 'MetricType' },
      { source: 'aws.cloudwatch' },
    ],
  },
  'nested $or inside an $or alternative': {
    pattern: {
      source: ['aws.cloudwatch'],
      $or: [
        { metricName: ['CPUUtilization'] },
        {
          namespace: ['AWS/EC2'],
          $or: [{ metricId: [1234] }, { spaceId: [1000] }],
        },
      ],
    },
    match: [
      { source: 'aws.cloudwatch', namespace: 'AWS/EC2', spaceId: 1000 },
      { source: 'aws.cloudwatch', metricName: 'CPUUtilization' },
    ],
    noMatch: [{ source: 'aws.cloudwatch', namespace: 'AWS/EC2', spaceId: 1001 }],
  },
  "the seed router's pattern, on the router's envelope": {
    pattern: { detail: { subject: ['VmPoweredOnEvent', 'VmPoweredOffEvent', 'DrsVmPoweredOnEvent'] } },
    match: [{ source: 'https://vc/sdk', detail: { subject: 'DrsVmPoweredOnEvent', data: {} } }],
    noMatch: [
      { source: 'https://vc/sdk', detail: { subject: 'VmCreatedEvent' } },
      { source: 'https://vc/sdk', 'detail-type': 'VmPoweredOnEvent', detail: {} },
    ],
  },
};

describe('event-pattern matcher: documented examples', () => {
  for (const [name, c] of Object.entries(cases)) {
    test(name, () => {
      const m = compilePattern(JSON.stringify(c.pattern));
      c.match.forEach((ev, i) => expect([i, m.matches(ev)]).toEqual([i, true]));
      c.noMatch.forEach((ev, i) => expect([i, m.matches(ev)]).toEqual([i, false]));
    });
  }
});

describe('event-pattern matcher: patterns it cannot evaluate are errors', () => {
  const bad: Array<[string, string, RegExp]> = [
    ['invalid JSON', '{"detail": ', /not valid JSON/],
    ['not an object', '["a"]', /must be a JSON object/],
    ['empty pattern', '{}', /is empty/],
    ['a leaf that is not an array', '{"source": "aws.ec2"}', /at source: .*array of conditions/],
    ['an empty value array', '{"source": []}', /at source: an empty array/],
    [
      'an unknown operator',
      '{"detail": {"s": [{"contains": "x"}]}}',
      /at detail\.s\[0\]: unknown operator "contains"/,
    ],
    ['two operators in one object', '{"s": [{"prefix": "a", "suffix": "b"}]}', /exactly one operator/],
    ['consecutive wildcards', '{"s": [{"wildcard": "a**b"}]}', /consecutive "\*"/],
    [
      'a backslash escaping another character',
      '{"s": [{"wildcard": "a\\\\nb"}]}',
      /backslash may only escape/,
    ],
    ['numeric with an unknown comparison', '{"n": [{"numeric": ["!=", 1]}]}', /unknown comparison/],
    ['numeric with an empty range', '{"n": [{"numeric": [">", 5, "<", 1]}]}', /lower bound is not below/],
    ['numeric with a string bound', '{"n": [{"numeric": [">", "5"]}]}', /is not a number/],
    ['numeric "=" combined', '{"n": [{"numeric": ["=", 5, "<", 9]}]}', /cannot be combined/],
    ['anything-but with a mixed list', '{"s": [{"anything-but": ["a", 1]}]}', /only strings or only numbers/],
    [
      'anything-but with an unknown operator',
      '{"s": [{"anything-but": {"numeric": [">", 1]}}]}',
      /anything-but\.numeric/,
    ],
    ['an invalid cidr', '{"ip": [{"cidr": "10.0.0.0/33"}]}', /"cidr" needs/],
    ['exists with a string', '{"s": [{"exists": "true"}]}', /"exists" needs true or false/],
    [
      '$or with a single alternative',
      '{"$or": [{"a": ["x"]}]}',
      /"\$or" needs an array of at least two objects/,
    ],
    ['prefix with an unknown modifier', '{"s": [{"prefix": {"wildcard": "a*"}}]}', /"prefix" takes a string/],
    ['a nested array in a pattern', '{"s": [["a"]]}', /cannot evaluate the condition/],
  ];
  test.each(bad)('%s', (_name, pattern, message) => {
    let err: unknown;
    try {
      compilePattern(pattern);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PatternError);
    expect((err as Error).message).toMatch(message);
  });
});
