// Preload of bench/idle-memory.mjs: writes, twice a second, what only the router's own process
// can tell (modules loaded, V8's heap spaces) to $IDLE_MEMORY_OUT.
const fs = require('node:fs');
const v8 = require('node:v8');
const mb = (bytes) => Math.round((bytes / 1048576) * 10) / 10;
setInterval(() => {
  const memory = process.memoryUsage();
  const spaces = {};
  for (const s of v8.getHeapSpaceStatistics())
    spaces[s.space_name] = [mb(s.space_used_size), mb(s.physical_space_size)];
  fs.writeFileSync(
    process.env.IDLE_MEMORY_OUT,
    JSON.stringify({
      modules: Object.keys(require.cache).length,
      heapUsedMb: mb(memory.heapUsed),
      heapTotalMb: mb(memory.heapTotal),
      externalMb: mb(memory.external),
      spaces,
    }),
  );
}, 500).unref();
