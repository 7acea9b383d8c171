// Where our router's idle memory goes (not part of `npm run bench`; its figures are in the
// dated notes of docs/benchmarks.md):
//   npm run --silent build && node bench/idle-memory.mjs [node flags for the router...]
// One router on a fresh 20 ms simulator with the OpenFaaS processor, 4 s after /readyz:
// RSS (median of ten samples 300 ms apart, the bench's nearest-rank rule), /proc/PID/smaps summed by what is mapped (the node
// binary, anonymous memory, malloc's heap, libraries), and from inside the router (a preload)
// the modules loaded and V8's heap spaces. Flags after the script go to the router's node,
// e.g. `node bench/idle-memory.mjs --max-semi-space-size=1`; environment variables such as
// MALLOC_ARENA_MAX pass through.
import fs from 'node:fs';
import path from 'node:path';
import {
  cleanup,
  launchRouter,
  metricsEntry,
  openfaasEntry,
  report,
  ROOT,
  routerReady,
  sleep,
  startPeer,
  startSimulator,
  statusMb,
  tmp,
  vcenterEntry,
} from './lib.mjs';

const flags = process.argv.slice(2);
const inside = path.join(tmp, 'idle-memory.json');
const preload = path.join(ROOT, 'bench', 'idle-memory-preload.cjs');

/** RSS in MB by mapping name ('[anon]' for anonymous memory), largest first. */
function smapsByName(pid) {
  const byName = new Map();
  let name = '';
  for (const line of fs.readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (mapping) name = mapping[1] || '[anon]';
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) byName.set(name, (byName.get(name) ?? 0) + Number(rss[1]) / 1024);
  }
  return [...byName].sort((a, b) => b[1] - a[1]);
}

const sim = await startSimulator('vcsim-tick20ms');
const peer = await startPeer('VmMessageEvent');
const router = launchRouter(
  [vcenterEntry(sim.url), openfaasEntry(peer), metricsEntry],
  ['-r', preload, ...flags],
  {
    IDLE_MEMORY_OUT: inside,
  },
);
await routerReady(router);
await sleep(4000);
const rss = [];
for (let i = 0; i < 10; i++) {
  rss.push(statusMb(router.pid, 'VmRSS'));
  await sleep(300);
}
const mappings = smapsByName(router.pid).filter(([, mb]) => mb >= 0.5);
const fromInside = JSON.parse(fs.readFileSync(inside, 'utf8'));
console.log(`router node flags: ${flags.join(' ') || '(none)'}`);
console.log(`RSS idle, median of 10: ${report.rssStats(rss).median.toFixed(1)} MB`);
console.log('RSS by mapping (MB):');
for (const [name, mb] of mappings) console.log(`  ${mb.toFixed(1).padStart(6)}  ${name}`);
console.log(`modules loaded: ${fromInside.modules}`);
console.log(
  `V8 heap: ${fromInside.heapUsedMb} MB used of ${fromInside.heapTotalMb} MB; external ${fromInside.externalMb} MB`,
);
console.log('V8 heap spaces, used / committed (MB):');
for (const [space, [used, committed]] of Object.entries(fromInside.spaces))
  if (committed > 0) console.log(`  ${space}: ${used} / ${committed}`);
await cleanup();
process.exit(0);
