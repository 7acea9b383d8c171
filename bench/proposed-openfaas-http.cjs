// The change proposed in docs/benchmarks.md §4, applied at run time to the compiled router so its
// effect can be measured before src/ changes (bench only; src/ and dist/ are not modified):
//   BENCH_ROUTER_NODE_ARGS="-r ./bench/proposed-openfaas-http.cjs" node bench/run.mjs --no-write
// The OpenFaaS processor's invocations go through node:http(s).request on its keep-alive agents
// instead of axios (same path, headers, timeout, abort signal; reply kept as text, 1 MB cap).
const http = require('node:http');
const https = require('node:https');
const path = require('node:path');
const mod = require(
  path.join(__dirname, '..', 'dist', 'src', 'processor', 'openfaas', 'openfaas-processor.js'),
);

class Patched extends mod.OpenFaasProcessor {
  constructor(...args) {
    super(...args);
    const base = new URL(this.invoker.defaults.baseURL);
    const timeout = this.invoker.defaults.timeout;
    const secure = base.protocol === 'https:';
    const agent = secure ? this.httpsAgent : this.httpAgent;
    const prefix = base.pathname.replace(/\/$/, '');
    this.invoker = {
      defaults: this.invoker.defaults,
      post: (p, body, opts) =>
        new Promise((resolve, reject) => {
          const buf = Buffer.from(body);
          const req = (secure ? https : http).request(
            {
              host: base.hostname,
              port: base.port || (secure ? 443 : 80),
              path: prefix + p,
              method: 'POST',
              agent,
              signal: opts?.signal,
              timeout,
              headers: { ...(opts?.headers ?? {}), 'Content-Length': buf.length },
            },
            (res) => {
              let data = '';
              res.setEncoding('utf8');
              res.on('data', (c) => {
                if (data.length < 1024 * 1024) data += c;
              });
              res.on('end', () => resolve({ status: res.statusCode, data, headers: res.headers }));
              res.on('error', reject);
            },
          );
          req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ECONNABORTED' })));
          req.on('error', reject);
          req.end(buf);
        }),
    };
  }
}
mod.OpenFaasProcessor = Patched;
