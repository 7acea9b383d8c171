// Usage: node scripts/require-node.js NAME
// Below package.json's engines.node (">=N"), prints one line saying which Node.js versions work
// and exits 1; the router says the same at start (src/cli/node-version.ts). Plain JavaScript
// that old Node.js versions run, so that it can speak before anything is installed or built.
const pkg = require('../package.json');

const name = process.argv[2] || 'vmware-event-router';
const range = (pkg.engines && pkg.engines.node) || '';
const min = /^>=\s*(\d+)/.exec(range.trim());
if (min && Number(process.versions.node.split('.')[0]) < Number(min[1])) {
  console.error(
    `${name}: Node.js ${process.versions.node} is not supported: run it on Node.js ${min[1]} or later (engines "${range}")`,
  );
  process.exit(1);
}
