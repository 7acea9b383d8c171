#!/usr/bin/env node
// Conversion throughput: a captured SOAP reply (RetrievePropertiesEx of a
// 1000-event latestPage) parsed and converted to CloudEvent JSON in-process,
// on one core (this process's main thread), with the compiled router code.
//
//   node bench/convert.mjs REPLY.xml [seconds=3] [source] [instanceUuid]
//   -> one JSON line {events, bytes, results: {label: events_per_sec}, classes}
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const dist = (p) => require(path.join(root, 'dist', p));
const { parseXml, parseXmlFast } = dist('src/stream/vcenter/vim25/xml.js');
const { convertEvent } = dist('src/stream/vcenter/vim25/convert.js');
const { toCloudEvent, cloudEventJson } = dist('src/events/cloudevent.js');

const file = process.argv[2];
const seconds = Number(process.argv[3] ?? 3);
const source = process.argv[4] ?? 'http://127.0.0.1/sdk';
const instanceUuid = process.argv[5] ?? 'dbed6e0c-bd88-4ef6-b594-21283e1c677f';
const xml = fs.readFileSync(file, 'utf8');

const kids = (el, name) => el.children.filter((c) => c.name === name);
/** Envelope -> Body -> RetrievePropertiesExResponse -> returnval -> objects -> propSet -> val -> Event* */
function eventElements(env) {
  const out = [];
  for (const body of kids(env, 'Body'))
    for (const resp of body.children)
      for (const ret of kids(resp, 'returnval'))
        for (const obj of kids(ret, 'objects'))
          for (const prop of kids(obj, 'propSet'))
            for (const val of kids(prop, 'val')) out.push(...val.children);
  return out;
}

function pipeline(parse) {
  return () => {
    let bytes = 0;
    const els = eventElements(parse(xml));
    for (const el of els) {
      const ev = convertEvent(el);
      bytes += cloudEventJson(toCloudEvent(ev, source, instanceUuid)).length;
    }
    sink += bytes;
    return els.length;
  };
}

let sink = 0;
function run(fn) {
  fn();
  fn(); // warm-up
  let events = 0;
  const t0 = process.hrtime.bigint();
  const until = t0 + BigInt(Math.round(seconds * 1e9));
  let t = t0;
  while (t < until) {
    events += fn();
    t = process.hrtime.bigint();
  }
  return Math.round(events / (Number(t - t0) / 1e9));
}

const els = eventElements(parseXml(xml));
const classes = {};
for (const el of els) {
  const c = convertEvent(el).className;
  classes[c] = (classes[c] ?? 0) + 1;
}
const results = {
  'parseXml + convertEvent + toCloudEvent + cloudEventJson': run(pipeline(parseXml)),
  'parseXmlFast + convertEvent + toCloudEvent + cloudEventJson': run(pipeline(parseXmlFast)),
  'convertEvent + toCloudEvent + cloudEventJson (pre-parsed)': run(() => {
    for (const el of els) sink += cloudEventJson(toCloudEvent(convertEvent(el), source, instanceUuid)).length;
    return els.length;
  }),
  'parseXml only': run(() => eventElements(parseXml(xml)).length),
};
process.stdout.write(JSON.stringify({ events: els.length, bytes: xml.length, classes, results, sink: sink > 0 }) + '\n');
