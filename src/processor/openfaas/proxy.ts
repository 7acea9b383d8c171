/**
 * The proxy the environment sets for the OpenFaaS gateway, read as axios
 * (proxy-from-env) read it when the sink used axios: `http_proxy` or
 * `https_proxy` for the gateway's scheme, else `all_proxy` (each lower case
 * first, then upper case), a value without a scheme taking the gateway's;
 * `no_proxy` lists the hosts reached directly. The sink's agents apply it
 * (Node's `proxyEnv`: absolute-form requests to the proxy for http, a
 * CONNECT tunnel for https, `Proxy-Authorization` from the proxy URL's
 * userinfo).
 */

/** The variables Node's agents read from `proxyEnv`. */
export interface ProxyEnv {
  HTTP_PROXY?: string;
  HTTPS_PROXY?: string;
  NO_PROXY?: string;
}

function variable(env: NodeJS.ProcessEnv, name: string): string {
  return env[name.toLowerCase()] || env[name.toUpperCase()] || '';
}

/** The proxies `env` sets, or undefined when it sets none. */
export function proxyEnvironment(env: NodeJS.ProcessEnv = process.env): ProxyEnv | undefined {
  const out: ProxyEnv = {};
  for (const [scheme, key] of [
    ['http', 'HTTP_PROXY'],
    ['https', 'HTTPS_PROXY'],
  ] as const) {
    const proxy = variable(env, `${scheme}_proxy`) || variable(env, 'all_proxy');
    if (proxy) out[key] = proxy.includes('://') ? proxy : `${scheme}://${proxy}`;
  }
  if (!out.HTTP_PROXY && !out.HTTPS_PROXY) return undefined;
  const noProxy = variable(env, 'no_proxy');
  if (noProxy) out.NO_PROXY = noProxy;
  return out;
}

/** Whether this Node's agents apply `proxyEnv` (22.21 and later 22.x, 24.5 and later); older ones ignore it. */
export function agentsTakeProxies(version: string = process.versions.node): boolean {
  const [major, minor] = version.split('.').map(Number);
  return major > 24 || (major === 24 && minor >= 5) || (major === 22 && minor >= 21);
}
