// Writes dist/version.json (commit and version shown by -h and -version) at build time.
const { execSync } = require('node:child_process');
const { mkdirSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const pkg = require('../package.json');

function git(cmd) {
  try {
    return execSync(`git ${cmd}`, { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return '';
  }
}
const commit = process.env.COMMIT || git('rev-parse --short HEAD') || 'unknown';
const version = process.env.VERSION || git('describe --tags') || pkg.version;
mkdirSync(path.join(__dirname, '../dist'), { recursive: true });
writeFileSync(
  path.join(__dirname, '../dist/version.json'),
  JSON.stringify({ commit, version: version || pkg.version }) + '\n',
);
