import { eventId, uuidV5 } from '../../../src/events/cloudevent';

describe('uuidV5 (the CloudEvent ids)', () => {
  it('gives the RFC 4122 name-based SHA-1 UUID (the DNS namespace example)', () => {
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
  });

  it('keeps the ids existing deployments have already seen for an unnamed stream', () => {
    // instanceUuid of govmomi's simulator, key 1: the id published since the first release
    expect(eventId('dbed6e0c-bd88-4ef6-b594-21283e1c677f', 1)).toBe('84ab693b-f115-5aa4-b8c5-e9e2779b8c91');
  });
});
