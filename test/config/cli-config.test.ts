/**
 * Issue 2, item 5: bad configs exit 1 with a message naming the JSON path and
 * never printing a secret; a wrong vCenter password exits 1 clearly.
 * Runs the compiled CLI, as an operator would.
 */
import { buildHarness, startSimulator, type Simulator } from '../harness/simulator';
import { runCli, writeConfig } from '../helpers/e2e';

const SECRET = 'Sup3r-Secret-Pa55';
const stream = {
  type: 'stream',
  provider: 'vmware_vcenter',
  address: 'https://vc01.example.com/sdk',
  auth: { method: 'user_password', secret: { username: 'administrator@vsphere.local', password: SECRET } },
  options: { insecure: 'true' },
};
const openfaas = {
  type: 'processor',
  provider: 'openfaas',
  address: 'http://gateway.openfaas:8080',
  auth: { method: 'basic_auth', secret: { username: 'admin', password: SECRET + 'x' } },
  options: { async: 'false' },
};
const metrics = { type: 'metrics', provider: 'internal', address: '0.0.0.0:8080', auth: { method: 'none' } };

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

async function expectInvalid(config: unknown, ...messages: RegExp[]): Promise<void> {
  const file = writeConfig(config);
  for (const args of [
    ['-config', file],
    ['validate', '-config', file],
  ]) {
    const { code, stdout, stderr } = await runCli(args);
    expect(code).toBe(1);
    for (const m of messages) expect(stderr).toMatch(m);
    expect(stdout).toBe('');
    expect(stderr).not.toContain(SECRET);
  }
}

test('a valid config passes validate (Go-style and GNU-style flags)', async () => {
  const file = writeConfig([stream, openfaas, metrics]);
  for (const args of [
    ['validate', '-config', file],
    ['validate', '--config', file],
    ['validate', `-config=${file}`],
  ]) {
    const r = await runCli(args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('configuration is valid');
  }
});

test('the seed metrics spelling {"type":"internal","provider":"metrics"} is accepted', async () => {
  const m = { ...metrics, type: 'internal', provider: 'metrics' };
  expect((await runCli(['validate', '-config', writeConfig([stream, openfaas, m])])).code).toBe(0);
});

test('one problem, one line with the fix: misspelled type or provider, boolean option, missing entry', async () => {
  const oneLine = async (entries: unknown[], line: RegExp) => {
    const { code, stderr } = await runCli(['validate', '-config', writeConfig(entries)]);
    expect(code).toBe(1);
    const problems = stderr.split('\n').filter((l) => l.startsWith('  - '));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(line);
  };
  await oneLine(
    [stream, { type: 'processor', provider: 'stdot' }, metrics],
    /\/1\/provider: expected one of the processor providers .*, found "stdot" \(did you mean "stdout"\?\)/,
  );
  await oneLine(
    [stream, { type: 'procesor', provider: 'stdout' }, metrics],
    /\/1\/type: expected one of the entry types .*, found "procesor" \(did you mean "processor"\?\)/,
  );
  await oneLine([stream, openfaas], /\/: a metrics entry is required \(found none\)/);
  await oneLine(
    [stream, { ...openfaas, options: { async: 'yes' } }, metrics],
    /\/1\/options\/async: expected true or false .*found "yes"/,
  );
});

test('missing stream, processor or metrics entry', async () => {
  await expectInvalid([openfaas, metrics], /a stream entry is required/);
  await expectInvalid([stream, metrics], /a processor entry is required/);
  await expectInvalid([stream, openfaas], /a metrics entry is required/);
});

test('a second metrics entry is an error (the original silently kept the last)', async () => {
  await expectInvalid([stream, openfaas, metrics, { ...metrics }], /one metrics entry is allowed, found 2/);
});

test('several streams and processors: names required where they would be ambiguous, and unique', async () => {
  // Two processors of one provider need names; two streams need names.
  await expectInvalid(
    [stream, openfaas, metrics, { ...openfaas }],
    /\/1: missing required key "name" \(2 processors of provider openfaas/,
  );
  await expectInvalid(
    [stream, { ...stream }, openfaas, metrics],
    /\/0: missing required key "name" \(the config has 2 streams/,
  );
  await expectInvalid(
    [{ ...stream, name: 'vc' }, { ...stream, name: 'vc' }, openfaas, metrics],
    /\/1\/name: the stream name "vc" is already used by \/0/,
  );
  const ok = [
    { ...stream, name: 'vc01' },
    { ...stream, name: 'vc02' },
    { ...openfaas, name: 'first' },
    { ...openfaas, name: 'second' },
    metrics,
  ];
  expect((await runCli(['validate', '-config', writeConfig(ok)])).code).toBe(0);
});

test('an invalid filter pattern names the JSON path inside the pattern', async () => {
  const filtered = { ...openfaas, filter: { data: { Vm: { Name: [{ prefix: 42 }] } } } };
  await expectInvalid(
    [stream, filtered, metrics],
    /\/1\/filter\/data\/Vm\/Name\/0: invalid filter pattern: "prefix" needs a string/,
  );
});

test('wrong types name the path, what was expected and what was found', async () => {
  const s = clone(stream) as Record<string, unknown>;
  s.address = 42;
  await expectInvalid([s, openfaas, metrics], /\/0\/address: expected string, found number 42/);
  const o = clone(openfaas);
  o.options.async = 'yes';
  await expectInvalid([stream, o, metrics], /\/1\/options\/async: .*"true" or "false".*found "yes"/);
  await expectInvalid({ not: 'an array' }, /\/: expected array, found an object/);
});

test('unknown keys are errors with a did-you-mean hint', async () => {
  const s = clone(stream) as Record<string, unknown>;
  (s.options as Record<string, unknown>) = { insecrue: 'true' };
  await expectInvalid(
    [s, openfaas, metrics],
    /\/0\/options\/insecrue: unknown key "insecrue" \(did you mean "insecure"\?\)/,
  );
  const m = { ...metrics, adress: '0.0.0.0:8080' };
  await expectInvalid(
    [stream, openfaas, m],
    /\/2\/adress: unknown key "adress" \(did you mean "address"\?\)/,
  );
});

test('cloudevent_format: a value outside the enum names the choices and the likely one', async () => {
  const s = clone(stream) as Record<string, unknown>;
  s.options = { insecure: 'true', cloudevent_format: 'vsphere-source' };
  await expectInvalid(
    [s, openfaas, metrics],
    /\/0\/options\/cloudevent_format: expected one of "router", "vsphere_source", found "vsphere-source" \(did you mean "vsphere_source"\?\)/,
  );
  s.options = { cloudevent_format: 'vsphere_source', vsphere_source_payload_encoding: 'application/text' };
  await expectInvalid(
    [s, openfaas, metrics],
    /\/0\/options\/vsphere_source_payload_encoding: expected one of "application\/xml", "application\/json", found "application\/text"/,
  );
  s.options = { cloudevent_format: 'vsphere_source', vsphere_source_payload_encoding: 'application/json' };
  expect((await runCli(['validate', '-config', writeConfig([s, openfaas, metrics])])).code).toBe(0);
});

test('bad URLs and bind addresses', async () => {
  await expectInvalid(
    [{ ...stream, address: 'vc01.example.com' }, openfaas, metrics],
    /\/0\/address: .*https:\/\/HOST\[:PORT\]\/sdk/,
  );
  await expectInvalid(
    [stream, { ...openfaas, address: 'gateway:8080' }, metrics],
    /\/1\/address: .*found "gateway:8080"/,
  );
  await expectInvalid(
    [stream, openfaas, { ...metrics, address: 'http://0.0.0.0:8080' }],
    /\/2\/address: .*HOST:PORT/,
  );
});

test('credentials inside a URL are masked in the error', async () => {
  await expectInvalid(
    [{ ...stream, address: `https://root:${SECRET}@vc01` }, openfaas, metrics],
    /\/0\/address: .*\*\*\*\*\*@vc01/,
  );
});

test('missing secret keys, and a secret value of the wrong type is not echoed', async () => {
  const o = clone(openfaas) as { auth: { secret: Record<string, unknown> } };
  delete o.auth.secret.password;
  await expectInvalid([stream, o, metrics], /\/1\/auth\/secret: missing required key "password"/);
  const s = clone(stream) as { auth: { secret: Record<string, unknown> } };
  s.auth.secret.password = [SECRET];
  await expectInvalid(
    [s, openfaas, metrics],
    /\/0\/auth\/secret\/password: expected string, found \(secret, not shown\)/,
  );
});

test('unknown provider combination', async () => {
  await expectInvalid(
    [stream, { ...openfaas, provider: 'kafka' }, metrics],
    /\/1\/provider: expected one of/,
  );
});

test('invalid JSON gives line and column, never the file content', async () => {
  const text = `[\n  {"type": "stream", "auth": {"secret": {"password": "${SECRET}"}}\n  oops\n]`;
  const { code, stderr } = await runCli(['-config', writeConfig(text)]);
  expect(code).toBe(1);
  expect(stderr).toMatch(/not valid JSON at line 3, column \d+/);
  expect(stderr).not.toContain(SECRET);
});

test('a missing config file', async () => {
  const { code, stderr } = await runCli(['-config', '/nonexistent/config.json']);
  expect(code).toBe(1);
  expect(stderr).toMatch(/\/nonexistent\/config.json:\n\s+- configuration file not found/);
});

describe('against the simulator', () => {
  let sim: Simulator;
  beforeAll(async () => {
    buildHarness();
    sim = await startSimulator();
  });
  afterAll(async () => sim?.stop());

  test('a wrong vCenter password exits 1 with a clear message and never prints it', async () => {
    const wrong = 'Wr0ng-' + SECRET;
    const file = writeConfig([
      {
        type: 'stream',
        provider: 'vmware_vcenter',
        address: sim.url,
        auth: { method: 'user_password', secret: { username: sim.username, password: wrong } },
      },
      { type: 'processor', provider: 'stdout' },
      { type: 'metrics', provider: 'internal', address: '127.0.0.1:0', auth: { method: 'none' } },
    ]);
    const { code, stdout, stderr } = await runCli(['-config', file]);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      new RegExp(
        `vCenter ${sim.url.replace(/[./]/g, '\\$&')} rejected the login of user "${sim.username}" \\(InvalidLogin\\)`,
      ),
    );
    expect(stderr).not.toContain(wrong);
    expect(stdout).toBe('');
  });
});
