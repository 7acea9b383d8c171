#!/usr/bin/env node
// Generates src/stream/vcenter/vim25/model.generated.json from govmomi's
// vim25/types/types.go (plus enum.go, if.go, helpers.go next to it).
//
//   node scripts/gen-vim25-model.mjs [path/to/types.go] [--out FILE]
//
// Default source: Debian's golang-github-vmware-govmomi-dev (0.24).
//
// The model holds every Event subclass (every struct embedding Event,
// transitively) and every data type reachable from them: struct-typed fields,
// every implementor of a Base* interface used as a field type (the struct
// named by the interface and everything embedding it), and for `AnyType`
// fields the ArrayOf* wrapper types and ManagedObjectReference (what an
// xsd:anyType value holds in practice). All enum (string) type names are
// listed too.
//
// Output format (compact, deterministic, keys sorted):
//   { "//": marker, "source": ..., "version": ...,
//     "enums": [name...],                      // string types: JSON strings
//     "aliases": {xmlName: goType},            // extra registry entries (helpers.go)
//     "types": { Name: { "b": base|undefined, "f": [field...] } } }
//   field = [xmlName, goName, type, flags]
//     type : primitive code (see PRIMS) or a type name (struct / enum / base struct
//            of a Base* interface)
//     flags: 1 array ([]T), 2 pointer (*T), 4 interface (Base* -> polymorphic),
//            8 typeattr (xsi:type on the wire), 16 omitempty,
//            32 xml attribute (",attr"), 64 chardata (",chardata")
// Only a type's own fields are listed; base fields come from "b".
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..');

const args = process.argv.slice(2);
let src = '/usr/share/gocode/src/github.com/vmware/govmomi/vim25/types/types.go';
let out = path.join(repoRoot, 'src/stream/vcenter/vim25/model.generated.json');
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--out') out = args[++i];
  else src = args[i];
}
const dir = path.dirname(src);
const read = (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
const typesGo = read(src);
if (!typesGo) {
  console.error(`cannot read ${src}`);
  process.exit(1);
}
const enumGo = read(path.join(dir, 'enum.go'));
const ifGo = read(path.join(dir, 'if.go'));
const helpersGo = read(path.join(dir, 'helpers.go'));

// Go primitive -> model code
const PRIMS = {
  string: 'string',
  bool: 'bool',
  int8: 'int8',
  int16: 'int16',
  int32: 'int32',
  int64: 'int64',
  int: 'int64',
  byte: 'uint8',
  uint8: 'uint8',
  uint16: 'uint16',
  uint32: 'uint32',
  uint64: 'uint64',
  float32: 'float32',
  float64: 'float64',
  'time.Time': 'time',
  AnyType: 'any',
};

// ---- parse structs ---------------------------------------------------------
/** @type {Map<string, {b?: string, f: any[]}>} */
const structs = new Map();
const stringTypes = new Set();
/** name -> struct it is defined over (`type A B`) */
const definedTypes = new Map();
const lines = (typesGo + '\n' + enumGo).split('\n');
for (let i = 0; i < lines.length; i++) {
  const line = lines[i];
  let m = /^type (\w+) struct \{\s*$/.exec(line);
  if (m) {
    const name = m[1];
    const def = { b: undefined, f: [] };
    for (i++; i < lines.length && lines[i] !== '}'; i++) {
      const l = lines[i].trim();
      if (!l || l.startsWith('//')) continue;
      let e = /^(\*?)([A-Z]\w*)$/.exec(l);
      if (e) {
        if (def.b) throw new Error(`${name}: two embedded structs`);
        if (e[1]) throw new Error(`${name}: embedded pointer`);
        def.b = e[2];
        continue;
      }
      e = /^(\w+)\s+(\S+)\s+`xml:"([^"]*)"`$/.exec(l);
      if (!e) throw new Error(`${name}: cannot parse field line: ${l}`);
      const [, goName, goType, tag] = e;
      const [xmlName, ...opts] = tag.split(',');
      let t = goType;
      let flags = 0;
      if (t === '[]byte') {
        t = 'bytes';
      } else {
        if (t.startsWith('[]')) {
          flags |= 1;
          t = t.slice(2);
          if (t === '[]byte') t = 'bytes';
        }
        if (t.startsWith('*')) {
          flags |= 2;
          t = t.slice(1);
        }
      }
      if (t.startsWith('[]') || t.startsWith('*'))
        throw new Error(`${name}.${goName}: unsupported type ${goType}`);
      if (PRIMS[t]) t = PRIMS[t];
      else if (/^Base[A-Z]/.test(t)) {
        flags |= 4;
        t = t.slice(4); // resolved against if.go below
      }
      if (opts.includes('typeattr')) flags |= 8;
      if (opts.includes('omitempty')) flags |= 16;
      if (opts.includes('attr')) flags |= 32;
      if (opts.includes('chardata')) flags |= 64;
      def.f.push([xmlName, goName, t, flags]);
    }
    structs.set(name, def);
    continue;
  }
  m = /^type (\w+) string$/.exec(line);
  if (m) {
    stringTypes.add(m[1]);
    continue;
  }
  // `type OvfNoHostNicFault OvfNoHostNic`: a defined type over a struct (the
  // fault wrappers and method request types). It has the same fields and, in
  // Go, the same promoted methods, so it implements the same Base* interfaces
  // and govmomi's registry decodes it from its own xsi:type.
  m = /^type (\w+) ([A-Z]\w*)$/.exec(line);
  if (m && !m[2].startsWith('Base')) definedTypes.set(m[1], m[2]);
}

// Base* interfaces: if.go registers t["BaseX"] = X
const ifaceBase = new Map();
for (const m of ifGo.matchAll(/t\["Base(\w+)"\] = reflect\.TypeOf\(\(\*(\w+)\)\(nil\)\)/g))
  ifaceBase.set(m[1], m[2]);
// Fix up interface field types to the struct named by the interface.
for (const [name, def] of structs) {
  for (const f of def.f) {
    if (f[3] & 4) {
      const b = ifaceBase.get(f[2]);
      if (!b) {
        // not an interface after all (a struct whose name starts with "Base")
        if (structs.has('Base' + f[2])) {
          f[2] = 'Base' + f[2];
          f[3] &= ~4;
          continue;
        }
        throw new Error(`${name}.${f[1]}: unknown interface Base${f[2]}`);
      }
      f[2] = b;
    }
  }
}

// Extra registry entries in helpers.go (e.g. HostSubSpecificationUpdateEvent -> HostEvent).
// Go runs init() functions file by file in file-name order, so types.go's own
// registration of the same name (if any) runs later and wins: keep only
// entries for names types.go does not define.
const aliases = {};
for (const m of helpersGo.matchAll(/t\["(\w+)"\] = reflect\.TypeOf\(\(\*(\w+)\)\(nil\)\)/g)) {
  if (!structs.has(m[1]) && !stringTypes.has(m[1])) aliases[m[1]] = m[2];
}

// ---- descendants -------------------------------------------------------------
const kids = new Map();
for (const [name, def] of structs) {
  if (!def.b) continue;
  if (!kids.has(def.b)) kids.set(def.b, []);
  kids.get(def.b).push(name);
}
function descendants(name, acc = []) {
  for (const k of kids.get(name) || []) {
    acc.push(k);
    descendants(k, acc);
  }
  return acc;
}

// ---- closure -----------------------------------------------------------------
const keep = new Set();
const queue = [];
function add(name) {
  if (keep.has(name) || !structs.has(name)) return;
  keep.add(name);
  queue.push(name);
}
add('Event');
for (const d of descendants('Event')) add(d);
for (const a of Object.values(aliases)) add(a);
let anySeeded = false;
while (queue.length) {
  const name = queue.shift();
  const def = structs.get(name);
  if (def.b) add(def.b);
  for (const [, , t, flags] of def.f) {
    if (t === 'any') {
      if (!anySeeded) {
        anySeeded = true;
        add('ManagedObjectReference');
        for (const n of structs.keys()) if (n.startsWith('ArrayOf')) add(n);
      }
      continue;
    }
    if (!structs.has(t)) continue;
    add(t);
    if (flags & 4) for (const d of descendants(t)) add(d);
  }
}

// Defined types over a kept struct (`type OvfNoHostNicFault OvfNoHostNic`):
// polymorphic values of such a type decode in govmomi and print exactly like
// the struct they are defined over, so they become aliases of it.
for (const [name, target] of definedTypes) {
  if (keep.has(target) && !structs.has(name) && !(name in aliases)) aliases[name] = target;
}

// ---- output -----------------------------------------------------------------
const names = [...keep].sort();
const types = {};
let fieldCount = 0;
for (const n of names) {
  const def = structs.get(n);
  const o = {};
  if (def.b) o.b = def.b;
  o.f = def.f;
  fieldCount += def.f.length;
  types[n] = o;
}
const eventCount = names.filter((n) => n === 'Event' || descendants('Event').includes(n)).length;
let version = 'unknown';
try {
  const cl = fs.readFileSync('/usr/share/doc/golang-github-vmware-govmomi-dev/changelog.Debian.gz');
  const zlib = await import('node:zlib');
  const m = /\(([^)]+)\)/.exec(zlib.gunzipSync(cl).toString('utf8').split('\n')[0]);
  if (m) version = m[1];
} catch {
  /* not Debian */
}
const model = {
  '//': `GENERATED by scripts/gen-vim25-model.mjs from govmomi ${version} ${src} - do not edit`,
  version,
  enums: [...stringTypes].sort(),
  aliases,
  types,
};
// One type per line: compact but diff-friendly.
let json = '{\n';
json += `"//": ${JSON.stringify(model['//'])},\n`;
json += `"version": ${JSON.stringify(version)},\n`;
json += `"enums": ${JSON.stringify(model.enums)},\n`;
json += `"aliases": ${JSON.stringify(aliases)},\n`;
json += '"types": {\n';
json += names.map((n) => `${JSON.stringify(n)}: ${JSON.stringify(types[n])}`).join(',\n');
json += '\n}\n}\n';
fs.writeFileSync(out, json);
console.log(
  `wrote ${path.relative(process.cwd(), out)}: ${names.length} types (${eventCount} event classes), ` +
    `${fieldCount} fields, ${model.enums.length} enums, ${json.length} bytes ` +
    `(from ${structs.size} structs in ${path.basename(src)}, govmomi ${version})`,
);
