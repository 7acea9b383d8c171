// The fix proposed in docs/benchmarks.md §3, applied at run time to the compiled router so
// its effect can be measured before src/ changes (bench only; nothing in src/ or dist/ is modified):
//   BENCH_ROUTER_NODE_ARGS="-r ./bench/proposed-wake-maxcount.cjs" node bench/run.mjs --no-write
// Collectors are created with EventFilterSpec.maxCount = their page size, then SetCollectorPageSize
// as before (govmomi's simulator shrinks a 10-event page to 9, not 1, in SetCollectorPageSize).
const path = require('node:path');
const dist = (p) => require(path.join(__dirname, '..', 'dist', 'src', 'stream', 'vcenter', p));
const { EventCollector } = dist('event-collector.js');
const { moRefArg, moRefOf } = dist('soap/vim-client.js');
const { child } = dist('vim25/xml.js');
EventCollector.prototype.createCollector = async function (pageSize) {
  const res = await this.client.call('CreateCollectorForEvents', {
    _this: moRefArg(this.content.eventManager),
    filter: { entity: { entity: moRefArg(this.content.rootFolder), recursion: 'all' }, maxCount: pageSize },
  });
  const ref = moRefOf(child(res, 'returnval'));
  if (!ref) throw new Error('CreateCollectorForEvents returned no collector');
  await this.client.call('SetCollectorPageSize', { _this: moRefArg(ref), maxCount: pageSize });
  return ref;
};
