/**
 * The vCenter session key is a secret while it is the session: a peer's text
 * that echoes it (a fault string, a body that is not the protocol's) is
 * withheld by quotePeer, over SOAP (the vmware_soap_session cookie) and over
 * VI/JSON (the vmware-api-session-id header). A new Login replaces it, Logout
 * forgets it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { clearSecrets, quotePeer } from '../../../src/log/logger';
import { SoapTransport } from '../../../src/stream/vcenter/soap/soap-transport';
import { VimTransportError } from '../../../src/stream/vcenter/soap/vim-client';
import { VimFault } from '../../../src/stream/vcenter/transport';
import { SERVICE_INSTANCE, type ServiceContent } from '../../../src/stream/vcenter/transport';
import { ViJsonTransport } from '../../../src/stream/vcenter/vijson/vijson-transport';

type Handler = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void;

async function serve(handler: Handler): Promise<{ address: string; stop(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `http://127.0.0.1:${(server.address() as AddressInfo).port}/sdk`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const CONTENT: ServiceContent = {
  rootFolder: { type: 'Folder', value: 'group-d1' },
  propertyCollector: { type: 'PropertyCollector', value: 'propertyCollector' },
  sessionManager: { type: 'SessionManager', value: 'SessionManager' },
  eventManager: { type: 'EventManager', value: 'EventManager' },
  instanceUuid: '',
  apiVersion: '',
  fullName: '',
};

const opts = { insecure: false, timeoutMs: 5000 };
const withheld = /\(peer text of \d+ characters withheld: it contains a configured secret/;

afterEach(() => clearSecrets());

describe('SOAP: the vmware_soap_session cookie value', () => {
  const envelope = (inner: string) =>
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ' +
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>' +
    inner +
    '</soapenv:Body></soapenv:Envelope>';
  const fault = (text: string) =>
    envelope(
      `<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>${text}</faultstring>` +
        '<detail><SystemErrorFault xmlns="urn:vim25" xsi:type="SystemError"/></detail></soapenv:Fault>',
    );

  test('withheld from a fault that echoes it (a call, and WaitForUpdatesEx), replaced on re-login, forgotten on logout', async () => {
    let logins = 0;
    const keys = ['soap-key-1f2e3d', 'soap-key-9a8b7c'];
    const peer = await serve((req, body, res) => {
      const key = keys[logins - 1];
      const xml = (status: number, text: string, headers: Record<string, string> = {}) =>
        res.writeHead(status, { 'Content-Type': 'text/xml; charset=utf-8', ...headers }).end(text);
      if (body.includes('<Login') || body.includes(':Login')) {
        const next = keys[logins++];
        return xml(
          200,
          envelope('<LoginResponse xmlns="urn:vim25"><returnval><key>s</key></returnval></LoginResponse>'),
          {
            'Set-Cookie': `vmware_soap_session="${next}"; Path=/; HttpOnly`,
          },
        );
      }
      if (body.includes('Logout'))
        return xml(200, envelope('<LogoutResponse xmlns="urn:vim25"></LogoutResponse>'));
      // CurrentTime and WaitForUpdatesEx: a fault that echoes the session key (as the cookie came).
      return xml(500, fault(`session ${key} is not valid here; cookie=${req.headers.cookie ?? ''}`));
    });
    const t = new SoapTransport(peer.address, opts);
    try {
      await t.login(CONTENT, 'u', 'p');
      const viaSoap = (await t.currentTime().catch((e: unknown) => e)) as VimFault;
      expect(viaSoap).toBeInstanceOf(VimFault);
      expect(viaSoap.message).toMatch(withheld);
      expect(viaSoap.message).not.toContain(keys[0]);
      const viaPost = (await t
        .waitForUpdatesEx(CONTENT.propertyCollector, '', 1, 5000)
        .catch((e: unknown) => e)) as VimFault;
      expect(viaPost).toBeInstanceOf(VimFault);
      expect(viaPost.message).toMatch(withheld);
      expect(viaPost.message).not.toContain(keys[0]);

      // A new login: the new key is the secret, the old one no longer.
      await t.login(CONTENT, 'u', 'p');
      expect(quotePeer(`x ${keys[1]}`)).toMatch(withheld);
      expect(quotePeer(`x ${keys[0]}`)).toBe(`x ${keys[0]}`);
      const again = (await t.currentTime().catch((e: unknown) => e)) as VimFault;
      expect(again.message).not.toContain(keys[1]);

      await t.logout(CONTENT, 5000);
      expect(quotePeer(`x ${keys[1]}`)).toBe(`x ${keys[1]}`);
    } finally {
      t.close();
      await peer.stop();
    }
  });
});

describe('VI/JSON: the vmware-api-session-id', () => {
  test('withheld from a fault and from a body that is not JSON that echo it, replaced on re-login, forgotten on logout', async () => {
    let logins = 0;
    const keys = ['json-key-5e6f7a', 'json-key-0b1c2d'];
    let notJson = false;
    const peer = await serve((req, _body, res) => {
      if (req.url?.endsWith('/Login')) {
        const next = keys[logins++];
        return res
          .writeHead(200, { 'Content-Type': 'application/json', 'vmware-api-session-id': next })
          .end('{"_typeName":"UserSession","key":"s"}');
      }
      if (req.url?.endsWith('/Logout')) return res.writeHead(204).end();
      const sent = String(req.headers['vmware-api-session-id'] ?? '');
      if (notJson) return res.writeHead(200, { 'Content-Type': 'text/html' }).end(`<p>session ${sent}</p>`);
      res
        .writeHead(500, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ _typeName: 'SystemError', faultstring: `session ${sent} is not valid here` }));
    });
    const t = new ViJsonTransport(peer.address, '8.0.2.0', opts);
    try {
      await t.login(CONTENT, 'u', 'p');
      const fault = (await t.currentTime().catch((e: unknown) => e)) as VimFault;
      expect(fault).toBeInstanceOf(VimFault);
      expect(fault.message).toMatch(withheld);
      expect(fault.message).not.toContain(keys[0]);
      notJson = true;
      const page = (await t.client
        .invoke(SERVICE_INSTANCE, 'CurrentTime')
        .catch((e: unknown) => e)) as VimTransportError;
      expect(page.code).toBe('EBADREPLY');
      expect(page.message).toMatch(withheld);
      expect(page.message).not.toContain(keys[0]);

      await t.login(CONTENT, 'u', 'p');
      expect(quotePeer(keys[1])).toMatch(withheld);
      expect(quotePeer(keys[0])).toBe(keys[0]);
      await t.logout(CONTENT, 5000);
      expect(quotePeer(keys[1])).toBe(keys[1]);
    } finally {
      t.close();
      await peer.stop();
    }
  });
});
