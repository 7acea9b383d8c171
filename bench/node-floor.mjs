// What any Node.js program doing the router's kind of work holds at idle, beside which the
// router's own idle RSS is judged (not part of `npm run bench`; its figures are in the dated
// notes of docs/benchmarks.md):
//   npm run --silent build && node bench/node-floor.mjs [node flags...]
// For each Node.js line (22 and 24, fetched by `npx -p node@N` as the bench does) and each
// warm-up (20 and 3,000 POSTs), three fresh processes, each with the V8 flags the router runs
// with (src/cli/node-flags.ts's, and the heap growth src/cli/main.ts sets) and then those given
// here. Each child loads http, https and tls, serves HTTP on 127.0.0.1 (as the metrics server
// does), POSTs a JSON body of about 350 bytes (smaller than most events' CloudEvents) to itself
// over a keep-alive agent the given number of times (as a sink does), idles 5 s, and prints its
// RSS. One empty `node`, idle 3 s, is printed for scale.
import { execFileSync } from 'node:child_process';
import { HEAP_GROWING_FLAG, NODE_FLAGS, nodeBinary, nodeVersion } from './lib.mjs';

const ROUTER_FLAGS = [HEAP_GROWING_FLAG, ...NODE_FLAGS, ...process.argv.slice(2)];

const CHILD = `
const http = require('node:http');
require('node:https');
require('node:tls');
const crypto = require('node:crypto');
const fs = require('node:fs');
const posts = Number(process.argv[1]);
const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => { JSON.parse(body); res.end('ok'); });
});
server.listen(0, '127.0.0.1', async () => {
  const agent = new http.Agent({ keepAlive: true });
  const post = (body) => new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.address().port, method: 'POST', path: '/f', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end(body);
  });
  for (let i = 0; i < posts; i++)
    await post(JSON.stringify({ id: crypto.randomUUID(), data: { key: i, message: 'x'.repeat(300) } }));
  setTimeout(() => { console.log(rss().toFixed(1)); process.exit(0); }, 5000);
});
`;

const run = (bin, flags, args) => execFileSync(bin, [...flags, ...args], { encoding: 'utf8' }).trim();
const empty = `setTimeout(() => { console.log((Number(/VmRSS:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]) / 1024).toFixed(1)); }, 3000)`;

for (const line of ['22', '24']) {
  const bin = nodeBinary(line);
  console.log(`${nodeVersion(bin)}: an empty node ${run(bin, [], ['-e', empty])} MB`);
  for (const posts of [20, 3000]) {
    const rss = [0, 1, 2].map(() => run(bin, ROUTER_FLAGS, ['-e', CHILD, String(posts)]));
    console.log(
      `${nodeVersion(bin)} ${ROUTER_FLAGS.join(' ')}: after ${posts} POSTs, idle RSS ${rss.join(', ')} MB`,
    );
  }
}
