/**
 * A logged-in vCenter session: service content, login, server clock, logout.
 */
import { childText, child, type XmlElement } from './vim25/xml';
import { moRefArg, moRefOf, VimClient, type MoRef } from './soap/vim-client';

export const SERVICE_INSTANCE: MoRef = { type: 'ServiceInstance', value: 'ServiceInstance' };

export interface ServiceContent {
  rootFolder: MoRef;
  propertyCollector: MoRef;
  sessionManager: MoRef;
  eventManager: MoRef;
  instanceUuid: string;
  apiVersion: string;
  fullName: string;
}

function requireRef(content: XmlElement, name: string): MoRef {
  const ref = moRefOf(child(content, name));
  if (!ref) throw new Error(`vCenter ServiceContent has no ${name}`);
  return ref;
}

export async function retrieveServiceContent(client: VimClient): Promise<ServiceContent> {
  const res = await client.call('RetrieveServiceContent', { _this: moRefArg(SERVICE_INSTANCE) });
  const content = child(res, 'returnval');
  if (!content) throw new Error('RetrieveServiceContent returned nothing');
  const about = child(content, 'about');
  const eventManager = moRefOf(child(content, 'eventManager'));
  if (!eventManager) throw new Error('this vSphere endpoint has no EventManager');
  return {
    rootFolder: requireRef(content, 'rootFolder'),
    propertyCollector: requireRef(content, 'propertyCollector'),
    sessionManager: requireRef(content, 'sessionManager'),
    eventManager,
    instanceUuid: (about && childText(about, 'instanceUuid')) || '',
    apiVersion: (about && childText(about, 'apiVersion')) || '',
    fullName: (about && childText(about, 'fullName')) || '',
  };
}

export async function login(
  client: VimClient,
  content: ServiceContent,
  username: string,
  password: string,
): Promise<void> {
  client.resetSession();
  await client.call('Login', { _this: moRefArg(content.sessionManager), userName: username, password });
}

/** The vCenter's own clock: "now" for the stream is the server's now, not ours. */
export async function currentTime(client: VimClient): Promise<string> {
  const res = await client.call('CurrentTime', { _this: moRefArg(SERVICE_INSTANCE) });
  const t = childText(res, 'returnval');
  if (!t) throw new Error('CurrentTime returned nothing');
  return t;
}

export async function logout(client: VimClient, content: ServiceContent, timeoutMs: number): Promise<void> {
  await client.call('Logout', { _this: moRefArg(content.sessionManager) }, timeoutMs);
  client.resetSession();
}
