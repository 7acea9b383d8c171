/** The shipped EventBridge config example, and the processor's options, against the project's schema. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { validateConfig } from '../../../../src/catalogue';

const EXAMPLE = path.resolve(__dirname, '../../../../config-examples/aws-event-bridge.json');
const example = () =>
  JSON.parse(readFileSync(EXAMPLE, 'utf8')) as Array<Record<string, Record<string, unknown>>>;

test('config-examples/aws-event-bridge.json is valid', () => {
  expect(validateConfig(example())).toEqual([]);
});

test('without auth (default credential chain) and with every option set it is valid', () => {
  const d = example();
  delete d[1].auth;
  Object.assign(d[1].options, {
    aws_eventbridge_endpoint: 'https://vpce-0123.events.eu-central-1.vpce.amazonaws.com',
    sync_interval: '30',
    retries: 5,
  });
  expect(validateConfig(d)).toEqual([]);
});

test('a missing rule ARN is reported at its JSON path', () => {
  const d = example();
  delete d[1].options.aws_eventbridge_rule_arn;
  expect(validateConfig(d).join('\n')).toMatch(/\/1\/options.*aws_eventbridge_rule_arn/);
});
