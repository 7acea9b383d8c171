#!/usr/bin/env node
// Conversion throughput: a captured SOAP reply (RetrievePropertiesEx of a
// 1000-event latestPage) parsed and converted to CloudEvent JSON in-process,
// on one core (this process's main thread), with the compiled router code.
// With --vijson REPLY.json (the same page read over VI/JSON), the VI/JSON
// pipeline too: parseViJson + convertJsonEvent + CloudEvent JSON.
//
//   node bench/convert.mjs REPLY.xml [seconds per pipeline=5] [source] [instanceUuid] [--vijson REPLY.json]
//   -> one JSON line {events, bytes, classes, results: {pipeline: median events/s}, best, loadavg,
//      vijson: {events, bytes, sameData} when given}
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

const { convertJsonEvent, parseViJson } = dist('src/stream/vcenter/vim25/convert-json.js');
const { ascending, quantile } = dist('bench/report.js');

const argv = process.argv.slice(2);
const vijsonAt = argv.indexOf('--vijson');
const jsonFile = vijsonAt >= 0 ? argv.splice(vijsonAt, 2)[1] : undefined;
const file = argv[0];
const seconds = Number(argv[1] ?? 5);
const source = argv[2] ?? 'http://127.0.0.1/sdk';
const instanceUuid = argv[3] ?? 'dbed6e0c-bd88-4ef6-b594-21283e1c677f';
const xml = fs.readFileSync(file, 'utf8');
const jsonText = jsonFile ? fs.readFileSync(jsonFile, 'utf8') : undefined;

/** RetrieveResult -> objects -> propSet -> val (ArrayOfEvent) -> _value */
function eventObjects(result) {
  const out = [];
  for (const obj of result?.objects ?? [])
    for (const prop of obj.propSet ?? [])
      if (prop.name === 'latestPage') out.push(...(prop.val?._value ?? []));
  return out;
}

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
/** events/s of `fn` over `seconds` (after a warm-up). */
function measure(fn, secs) {
  let events = 0;
  const t0 = process.hrtime.bigint();
  const until = t0 + BigInt(Math.round(secs * 1e9));
  let t = t0;
  while (t < until) {
    events += fn();
    t = process.hrtime.bigint();
  }
  return events / (Number(t - t0) / 1e9);
}

const els = eventElements(parseXml(xml));
const converted = els.map((el) => convertEvent(el));
const classes = {};
for (const el of els) {
  const c = convertEvent(el).className;
  classes[c] = (classes[c] ?? 0) + 1;
}
const pipelines = {
  'parseXml + convertEvent + toCloudEvent + cloudEventJson': pipeline(parseXml),
  'parseXmlFast + convertEvent + toCloudEvent + cloudEventJson': pipeline(parseXmlFast),
  'convertEvent + toCloudEvent + cloudEventJson (pre-parsed)': () => {
    for (const el of els) sink += cloudEventJson(toCloudEvent(convertEvent(el), source, instanceUuid)).length;
    return els.length;
  },
  'convertEvent only (pre-parsed)': () => {
    for (const el of els) sink += convertEvent(el).key;
    return els.length;
  },
  // The part both protocols share, which bounds how much faster the VI/JSON pipeline can be.
  'toCloudEvent + cloudEventJson only (pre-converted)': () => {
    for (const ev of converted) sink += cloudEventJson(toCloudEvent(ev, source, instanceUuid)).length;
    return converted.length;
  },
  'parseXml only': () => eventElements(parseXml(xml)).length,
  'parseXmlFast only': () => eventElements(parseXmlFast(xml)).length,
};
let vijson;
if (jsonText !== undefined) {
  const objs = eventObjects(parseViJson(jsonText));
  // The two replies hold the same page: the same data both ways, or the figures compare nothing.
  const xmlData = new Map(els.map((el) => [convertEvent(el).key, JSON.stringify(convertEvent(el).data)]));
  const same = objs.filter((o) => xmlData.get(o.key) === JSON.stringify(convertJsonEvent(o).data)).length;
  vijson = { events: objs.length, bytes: jsonText.length, sameData: same };
  Object.assign(pipelines, {
    'VI/JSON: parseViJson + convertJsonEvent + toCloudEvent + cloudEventJson': () => {
      const list = eventObjects(parseViJson(jsonText));
      let bytes = 0;
      for (const o of list)
        bytes += cloudEventJson(toCloudEvent(convertJsonEvent(o), source, instanceUuid)).length;
      sink += bytes;
      return list.length;
    },
    'VI/JSON: convertJsonEvent + toCloudEvent + cloudEventJson (pre-parsed)': () => {
      for (const o of objs)
        sink += cloudEventJson(toCloudEvent(convertJsonEvent(o), source, instanceUuid)).length;
      return objs.length;
    },
    'VI/JSON: parseViJson only': () => eventObjects(parseViJson(jsonText)).length,
    'VI/JSON: convertJsonEvent only (pre-parsed)': () => {
      for (const o of objs) sink += convertJsonEvent(o).key;
      return objs.length;
    },
  });
}
// The machine may be shared: interleave ROUNDS short rounds of every pipeline and
// report the median round (and the best) rather than one long run.
const ROUNDS = 5;
const rounds = Object.fromEntries(Object.keys(pipelines).map((k) => [k, []]));
for (const fn of Object.values(pipelines)) {
  fn();
  fn(); // warm-up
}
for (let r = 0; r < ROUNDS; r++) {
  for (const [k, fn] of Object.entries(pipelines)) rounds[k].push(measure(fn, seconds / ROUNDS));
}
const results = {};
const best = {};
for (const [k, v] of Object.entries(rounds)) {
  const sorted = ascending(v);
  results[k] = Math.round(quantile(sorted, 0.5));
  best[k] = Math.round(sorted[sorted.length - 1]);
}
const loadavg = (await import('node:os')).loadavg()[0];
process.stdout.write(
  JSON.stringify({
    events: els.length,
    bytes: xml.length,
    classes,
    results,
    best,
    rounds: ROUNDS,
    loadavg,
    ...(vijson ? { vijson } : {}),
    sink: sink > 0,
  }) + '\n',
);
