#!/usr/bin/env node
// The Kubernetes Lease API of the fail-over bench: the test peer
// (test/peers/kubernetes-api.ts, compiled) in a process of its own, plus a
// count of the writes it answered, so the bench counts store writes at the
// store.
//
//   node bench/kubernetes-store.mjs --token T
//   -> prints {"url": API URL, "writes": URL of the counts} on stdout when listening
//
// GET <writes>  {"POST /apis/.../leases": n, "PUT /apis/.../leases/NAME": m, ...}:
//               create and update requests the API answered with 2xx, per method and path.
import http from 'node:http';
import { distModule } from './lib.mjs';

const { KubernetesApi } = distModule('test/peers/kubernetes-api.js');
const token = process.argv[process.argv.indexOf('--token') + 1];
if (!process.argv.includes('--token') || !token) throw new Error('usage: kubernetes-store.mjs --token T');

const api = await KubernetesApi.start({ tokens: [token], namespaces: ['default'] });
const counts = http.createServer((_req, res) => {
  const out = {};
  for (const r of api.requests) {
    if ((r.method !== 'POST' && r.method !== 'PUT') || r.status < 200 || r.status > 299) continue;
    const k = `${r.method} ${r.path}`;
    out[k] = (out[k] ?? 0) + 1;
  }
  res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(out));
});
counts.listen(0, '127.0.0.1', () => {
  process.stdout.write(
    JSON.stringify({ url: api.url, writes: `http://127.0.0.1:${counts.address().port}/` }) + '\n',
  );
});
// the driver owns us: exit when it goes away
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
