// Diagnostic preload for our router (not used by `npm run bench` by default):
//   BENCH_ROUTER_NODE_ARGS="-r ./bench/diag-preload.cjs" BENCH_DIAG=/tmp/diag.jsonl node bench/run.mjs --no-write
// Logs every vCenter call (method, ms, events in the reply) and the heap every 100 ms as JSON lines.
const fs = require('node:fs');
const path = require('node:path');
const { setInterval } = require('node:timers');
const out = fs.openSync(process.env.BENCH_DIAG || '/tmp/router-diag.jsonl', 'w');
const w = (o) => fs.writeSync(out, JSON.stringify({ t: Date.now(), ...o }) + '\n');
const { VimClient } = require(
  path.join(__dirname, '..', 'dist', 'src', 'stream', 'vcenter', 'soap', 'vim-client.js'),
);
const call = VimClient.prototype.call;
function count(el, name) {
  let n = el.name === name ? 1 : 0;
  for (const c of el.children) n += count(c, name);
  return n;
}
// Every SOAP call, WaitForUpdatesEx included: call(method, _this, params, timeoutMs).
VimClient.prototype.call = async function (method, ...rest) {
  const t0 = Date.now();
  const res = await call.call(this, method, ...rest);
  w({
    method,
    ms: Date.now() - t0,
    changes: count(res, 'changeSet'),
    events: count(res, 'Event') + count(res, 'returnval'),
    heapMB: Math.round(process.memoryUsage().heapUsed / 1048576),
  });
  return res;
};
setInterval(() => {
  const m = process.memoryUsage();
  w({
    rssMB: Math.round(m.rss / 1048576),
    heapMB: Math.round(m.heapUsed / 1048576),
    extMB: Math.round(m.external / 1048576),
    abMB: Math.round(m.arrayBuffers / 1048576),
  });
}, 100).unref();
