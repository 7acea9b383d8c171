/** The coordination entry as the configuration sees it: at most one, named streams, durations that nest. */
import { validateConfig } from '../../../src/catalogue';

const stream = (name?: string) => ({
  type: 'stream',
  provider: 'vmware_vcenter',
  ...(name ? { name } : {}),
  address: 'https://vc01.example.com/sdk',
  auth: { method: 'user_password', secret: { username: 'u', password: 'p' } },
});
const base = [
  { type: 'processor', provider: 'stdout' },
  { type: 'metrics', provider: 'internal', address: '127.0.0.1:0', auth: { method: 'none' } },
];
const nats = (options: Record<string, unknown> = {}) => ({
  type: 'coordination',
  provider: 'nats',
  address: 'nats://nats-0.nats:4222,nats://nats-1.nats:4222',
  auth: { method: 'none' },
  options,
});

describe('the coordination entry', () => {
  test('a NATS and a Kubernetes entry (in-cluster defaults: nothing but the provider) are valid', () => {
    expect(validateConfig([stream('vc01'), ...base, nats()])).toEqual([]);
    expect(
      validateConfig([stream('vc01'), ...base, { type: 'coordination', provider: 'kubernetes' }]),
    ).toEqual([]);
  });

  test('every stream needs a name: its lease is named after it', () => {
    expect(validateConfig([stream(), ...base, nats()])).toEqual([
      '/0: missing required key "name" (with a coordination entry every stream needs a name: its lease is named after it)',
    ]);
  });

  test('a second coordination entry is an error', () => {
    expect(validateConfig([stream('vc01'), ...base, nats(), nats()])).toEqual([
      '/: one coordination entry is allowed, found 2 (the original router silently kept the last one)',
    ]);
  });

  test('renew_deadline below lease_duration, retry_period below renew_deadline, each said with the reason', () => {
    expect(
      validateConfig([stream('vc01'), ...base, nats({ lease_duration: 10, renew_deadline: '10' })]),
    ).toEqual([
      '/3/options/renew_deadline: must be less than lease_duration (10 s), found 10: a holder that cannot renew must stop before another replica may take the stream',
    ]);
    expect(validateConfig([stream('vc01'), ...base, nats({ retry_period: 12 })])).toEqual([
      '/3/options/retry_period: must be less than renew_deadline (10 s), found 12: the holder must be able to retry a renewal before its deadline',
    ]);
  });

  test('a misspelt option gets a hint, a token is a secret that is never shown', () => {
    const problems = validateConfig([
      stream('vc01'),
      ...base,
      {
        type: 'coordination',
        provider: 'kubernetes',
        auth: { method: 'bearer', secret: { token: 'S3cret-Tok', extra: 'x' } },
        options: { lease_duraton: 6 },
      },
    ]);
    expect(problems.join('\n')).toMatch(/unknown key "lease_duraton" \(did you mean "lease_duration"\?\)/);
    expect(problems.join('\n')).not.toContain('S3cret-Tok');
  });
});
