#!/usr/bin/env node
// Benchmark of the vim25 event converter (no jest, no build step: the .ts
// sources are transpiled in memory with the project's typescript).
//
//   node scripts/bench-convert.mjs [events-per-reply=1000] [seconds=3]
//
// Builds a ReadNextEvents-like reply of N events from the shapes in
// test/unit/vim25/fixtures/events.xml (typical vCenter events: VmPoweredOn,
// EventEx with arguments, AlarmStatusChanged, TaskEvent, VmReconfigured, ...),
// then reports events/s for convertEvent alone (elements pre-parsed) and for
// parseXml + convertEvent.
import fs from 'node:fs';
import path from 'node:path';
import Module, { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const ts = require(path.join(root, 'node_modules/typescript'));
Module._extensions['.ts'] = (mod, filename) => {
  const src = fs.readFileSync(filename, 'utf8');
  const out = ts.transpileModule(src, {
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
    },
    fileName: filename,
  });
  mod._compile(out.outputText, filename);
};
const vim = path.join(root, 'src/stream/vcenter/vim25');
const { parseXml, parseXmlFast } = require(path.join(vim, 'xml.ts'));
const { convertEvent } = require(path.join(vim, 'convert.ts'));

const n = Number(process.argv[2] ?? 1000);
const seconds = Number(process.argv[3] ?? 3);
const fixture = fs.readFileSync(path.join(root, 'test/unit/vim25/fixtures/events.xml'), 'utf8');
const shapes = [...fixture.matchAll(/<returnval[\s\S]*?<\/returnval>/g)].map((m) => m[0]);
// Weight toward the common small events, like a real event stream.
const common = shapes.filter((s) =>
  /VmPoweredOnEvent|UserLoginSessionEvent|AlarmStatusChangedEvent|EventEx|TaskEvent/.test(s),
);
const parts = [];
for (let i = 0; i < n; i++) {
  const s = i % 10 === 9 ? shapes[i % shapes.length] : common[i % common.length];
  parts.push(s.replace(/<key>-?\d+<\/key>/, `<key>${i + 1}</key>`));
}
const xml =
  '<ReadNextEventsResponse xmlns="urn:vim25" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">' +
  parts.join('') +
  '</ReadNextEventsResponse>';

function run(label, fn) {
  fn(); // warm-up
  let events = 0;
  const t0 = process.hrtime.bigint();
  const until = t0 + BigInt(Math.round(seconds * 1e9));
  let t = t0;
  while (t < until) {
    events += fn();
    t = process.hrtime.bigint();
  }
  const secs = Number(t - t0) / 1e9;
  console.log(
    `${label.padEnd(30)} ${Math.round(events / secs)
      .toLocaleString('en-US')
      .padStart(10)} events/s`,
  );
}

const els = parseXml(xml).children;
let sink = 0;
console.log(`reply: ${n} events, ${(xml.length / 1024).toFixed(0)} KiB, node ${process.version}`);
run('convertEvent', () => {
  for (const el of els) sink += convertEvent(el).key;
  return els.length;
});
run('convert + JSON.stringify', () => {
  for (const el of els) sink += JSON.stringify(convertEvent(el).data).length;
  return els.length;
});
run('parseXml + convertEvent', () => {
  const kids = parseXml(xml).children;
  for (const el of kids) sink += convertEvent(el).key;
  return kids.length;
});
run('parseXmlFast + convertEvent', () => {
  const kids = parseXmlFast(xml).children;
  for (const el of kids) sink += convertEvent(el).key;
  return kids.length;
});
if (sink === 0.5) console.log(sink);
