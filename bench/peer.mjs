#!/usr/bin/env node
// Benchmark peer: the parts of the OpenFaaS gateway API that the router's
// openfaas processor uses, plus a recorder. Both our router (sync mode,
// through the topic map) and the reference client (test/harness/bin/reffollower,
// straight to its URL) POST their CloudEvents here.
//
//   node bench/peer.mjs --topic VmMessageEvent [--username admin --password pw]
//   -> prints {"url":"http://127.0.0.1:PORT"} on stdout when listening
//
// - GET /system/namespaces             ["openfaas-fn"]                      (basic auth)
// - GET /system/functions?namespace=NS  router-bench (topic annotation = --topic)
//                                       and ref-bench (no topic)          (basic auth)
// - POST /function/NAME[.NS]            200; records [key, createdTimeMs, arrivalMs, source]
//                                       per function name (= per client); source is the
//                                       CloudEvent's (the vCenter it came from)
// - GET /_bench/records?from=N          {"router-bench":[[key,created,arrival],...] from index N,...}
// - GET /_bench/counts                  {"router-bench":n,"ref-bench":m,"bad":b}
//
// Arrival time is taken when the request body is complete, on this machine's
// clock (performance.timeOrigin + performance.now(), sub-millisecond);
// createdTime is the event's data.CreatedTime (nanoseconds kept to the µs).
import http from 'node:http';
import { performance } from 'node:perf_hooks';

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}
const topic = arg('topic', 'VmMessageEvent');
const username = arg('username', 'admin');
const password = arg('password', 'bench-pw');
const NS = 'openfaas-fn';
const expectedAuth = 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64');

const functions = [
  { name: 'router-bench', annotations: { topic } },
  { name: 'ref-bench', annotations: {} },
];
const records = new Map(functions.map((f) => [f.name, []]));
let bad = 0;

/** RFC 3339 with up to 9 fraction digits -> epoch milliseconds (float). */
export function rfc3339Ms(s) {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(s);
  if (!m) return NaN;
  const base = Date.parse(m[1] + m[3]);
  const frac = m[2] ? Number(`0.${m[2]}`) * 1000 : 0;
  return base + frac;
}

function json(res, status, body) {
  const s = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(s) });
  res.end(s);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const p = url.pathname;
  if (req.method === 'POST' && p.startsWith('/function/')) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const arrival = performance.timeOrigin + performance.now();
      const name = p.slice('/function/'.length).split('.')[0];
      const list = records.get(name);
      if (!list) return json(res, 404, { error: `no function ${name}` });
      try {
        const ev = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        list.push([ev.data.Key, rfc3339Ms(ev.data.CreatedTime), arrival, ev.source]);
      } catch {
        bad++;
      }
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 2 });
      res.end('ok');
    });
    return;
  }
  if (req.method === 'GET' && p.startsWith('/system/')) {
    if (req.headers.authorization !== expectedAuth) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="Restricted"' });
      return res.end();
    }
    if (p === '/system/namespaces') return json(res, 200, [NS]);
    if (p === '/system/functions') {
      const ns = url.searchParams.get('namespace') ?? NS;
      if (ns !== NS) return json(res, 400, { error: 'unknown namespace' });
      return json(
        res,
        200,
        functions.map((f) => ({
          name: f.name,
          image: 'bench/echo:latest',
          namespace: NS,
          labels: {},
          annotations: f.annotations,
          replicas: 1,
          availableReplicas: 1,
          invocationCount: records.get(f.name).length,
        })),
      );
    }
    return json(res, 404, { error: 'not found' });
  }
  if (req.method === 'GET' && p === '/_bench/records') {
    const from = Number(url.searchParams.get('from') ?? 0);
    const out = {};
    for (const [k, v] of records) out[k] = v.slice(from);
    return json(res, 200, out);
  }
  if (req.method === 'GET' && p === '/_bench/counts') {
    const out = { bad };
    for (const [k, v] of records) out[k] = v.length;
    return json(res, 200, out);
  }
  json(res, 404, { error: 'not found' });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` }) + '\n');
});
// the driver owns us: exit when it goes away
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
