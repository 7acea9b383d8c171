// vctool fill: one event of EVERY Event class in govmomi's vim25 type registry,
// with every field filled from a seed, posted to the simulator and read back.
//
//	vctool -url URL fill -seed N [-classes A,B,...] [-max-depth D]
//
// The registry (vim25/types' unexported `t` map, reached with go:linkname) is
// walked for every struct type whose pointer implements types.BaseEvent. Each
// event is filled by reflection: strings (XML-special and non-ASCII
// characters), enums, booleans, every integer size including large 64-bit
// values, floats, times with nanoseconds and zone offsets, byte arrays,
// pointers, arrays, nested data objects, polymorphic (Base*) values of a
// concrete subclass chosen by the seed among all registry types implementing
// the interface, and anyType values (xsd primitives, enums, references,
// ArrayOf* wrappers, nested data objects). Recursion stops at -max-depth and
// after a per-event budget of values, leaving deeper values at their zero.
//
// Each event is posted with PostEvent (Event.ChangeTag carries a marker
// "fill/SEED/INDEX" to find it again), then the collector's latestPage is
// read back and json.Marshal'ed (the reference the router's `data` must equal).
//
// Output, one JSON document on stdout:
//
//	{"seed": N, "classes": [every Event class in the registry],
//	 "aliases": {registryName: goType},       // registry names of another type
//	 "rejected": [{"class","error"}],         // PostEvent failed
//	 "missing": [{"class","error"}],          // posted but not read back
//	 "mangled": [{"class","path","posted","readBack"}], // the simulator changed a value
//	 "chosen": {"BaseMethodFault": [types...], "AnyType": [...], ...}, // polymorphic values used
//	 "events": [{"key","class","json","xml"}]} // govmomi's JSON (as a string) of what was read back,
//	                                          // and encoding/xml.Marshal of it
//
// "mangled" compares json.Marshal of the posted event with that of the event
// read back, after copying the fields the simulator sets itself (Key,
// ChainId, CreatedTime, UserName, FullFormattedMessage).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand"
	"reflect"
	"sort"
	"strings"
	"time"
	_ "unsafe" // go:linkname

	"github.com/vmware/govmomi/event"
	"github.com/vmware/govmomi/vim25/types"
)

//go:linkname typeRegistry github.com/vmware/govmomi/vim25/types.t
var typeRegistry map[string]reflect.Type

var (
	timeType  = reflect.TypeOf(time.Time{})
	morefType = reflect.TypeOf(types.ManagedObjectReference{})
)

// registryTypes returns the distinct struct types of the registry, keyed by Go name.
func registryStructs() map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for _, t := range typeRegistry {
		if t.Kind() == reflect.Struct && t.PkgPath() == morefType.PkgPath() {
			out[t.Name()] = t
		}
	}
	return out
}

// eventClasses lists the registry's Event classes (sorted) and the registry
// names that map to a type of another name.
func eventClasses() ([]string, map[string]string) {
	var classes []string
	aliases := map[string]string{}
	for name, t := range typeRegistry {
		if t.Kind() != reflect.Struct || !reflect.PtrTo(t).Implements(baseEventType) {
			continue
		}
		if t.Name() != name {
			if name != "Base"+t.Name() { // if.go registers every Base* interface under its struct
				aliases[name] = t.Name()
			}
			continue
		}
		classes = append(classes, name)
	}
	sort.Strings(classes)
	return classes, aliases
}

// implementors: concrete registry struct types whose pointer implements iface (sorted by name).
var implCache = map[reflect.Type][]reflect.Type{}

func implementors(iface reflect.Type) []reflect.Type {
	if l, ok := implCache[iface]; ok {
		return l
	}
	var l []reflect.Type
	for _, t := range registryStructs() {
		if reflect.PtrTo(t).Implements(iface) {
			l = append(l, t)
		}
	}
	sort.Slice(l, func(i, j int) bool { return l[i].Name() < l[j].Name() })
	implCache[iface] = l
	return l
}

// enumValues: the string constants of a vim25 enum type are not reflectable;
// any string is valid on the wire, so enums get a name-like value.

type filler struct {
	r        *rand.Rand
	budget   int
	maxDepth int
	// chosen: interface (e.g. "BaseMethodFault", "AnyType") -> concrete types chosen
	chosen map[string]map[string]bool
}

func (f *filler) choose(iface string, t reflect.Type) {
	m := f.chosen[iface]
	if m == nil {
		m = map[string]bool{}
		f.chosen[iface] = m
	}
	m[t.String()] = true
}

const fillChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_./:<>&\"'"

var fillRunes = []string{"é", "ü", "日本", "✓", "😀", "\t", "\n", "\r\n", "\u2028", "&amp;", "]]>", "  "}

func (f *filler) str() string {
	n := f.r.Intn(24)
	var b strings.Builder
	for i := 0; i < n; i++ {
		if f.r.Intn(8) == 0 {
			b.WriteString(fillRunes[f.r.Intn(len(fillRunes))])
		} else {
			b.WriteByte(fillChars[f.r.Intn(len(fillChars))])
		}
	}
	return b.String()
}

func (f *filler) word() string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	n := 3 + f.r.Intn(10)
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[f.r.Intn(len(letters))]
	}
	return string(b)
}

func (f *filler) int64v(bits uint) int64 {
	switch f.r.Intn(6) {
	case 0:
		return 0
	case 1:
		return int64(f.r.Intn(100))
	case 2:
		return -int64(f.r.Intn(1000))
	case 3: // extremes
		if f.r.Intn(2) == 0 {
			return -1 << (bits - 1)
		}
		return 1<<(bits-1) - 1
	default: // anywhere in range
		v := int64(f.r.Uint64())
		if bits < 64 {
			v >>= 64 - bits
		}
		return v
	}
}

func (f *filler) uint64v(bits uint) uint64 {
	switch f.r.Intn(4) {
	case 0:
		return uint64(f.r.Intn(100))
	case 1:
		if bits == 64 {
			return math.MaxUint64
		}
		return 1<<bits - 1
	default:
		return f.r.Uint64() >> (64 - bits)
	}
}

func (f *filler) float() float64 {
	switch f.r.Intn(6) {
	case 0:
		return float64(f.r.Intn(1000))
	case 1:
		return f.r.Float64() * 1e-7
	case 2:
		return f.r.NormFloat64() * 1e22
	case 3:
		return -f.r.Float64() * 1e6
	default:
		return f.r.NormFloat64() * math.Pow(10, float64(f.r.Intn(30)-15))
	}
}

func (f *filler) timev() time.Time {
	sec := f.r.Int63n(4102444800) // 1970..2100
	var nsec int64
	switch f.r.Intn(4) {
	case 0:
	case 1:
		nsec = int64(f.r.Intn(1000)) * 1e6
	case 2:
		nsec = int64(f.r.Intn(1000000)) * 1e3
	default:
		nsec = f.r.Int63n(1e9)
	}
	t := time.Unix(sec, nsec).UTC()
	switch f.r.Intn(4) {
	case 0:
		t = t.In(time.FixedZone("", (f.r.Intn(27)-12)*3600+f.r.Intn(2)*1800))
	}
	return t
}

func (f *filler) bytesv() []byte {
	s := f.str()
	if s == "" {
		s = "b"
	}
	return []byte(s)
}

var morefTypes = []string{"VirtualMachine", "HostSystem", "Folder", "Datastore", "Network", "ClusterComputeResource", "Alarm", "Task", "DistributedVirtualSwitch"}

func (f *filler) moref() types.ManagedObjectReference {
	t := morefTypes[f.r.Intn(len(morefTypes))]
	return types.ManagedObjectReference{Type: t, Value: fmt.Sprintf("%s-%d", strings.ToLower(t[:2]), f.r.Intn(100000))}
}

// anyValue: a value for an anyType (interface{}) field, of a type govmomi can encode.
func (f *filler) anyValue(depth int) interface{} {
	switch f.r.Intn(22) {
	case 0:
		return f.r.Intn(2) == 0
	case 1:
		return int8(f.int64v(8))
	case 2:
		return int16(f.int64v(16))
	case 3, 4:
		return int32(f.int64v(32))
	case 5:
		return f.int64v(64)
	case 6:
		return float32(f.float())
	case 7:
		return f.float()
	case 8, 9:
		return f.str()
	case 10:
		return f.timev()
	case 11:
		return f.moref()
	case 12:
		return types.VirtualMachinePowerStatePoweredOn
	case 13:
		return types.ArrayOfString{String: []string{f.str(), f.word()}}
	case 14:
		return types.ArrayOfInt{Int: []int32{int32(f.int64v(32)), int32(f.int64v(32))}}
	case 15:
		return types.ArrayOfLong{Long: []int64{f.int64v(64), f.int64v(64)}}
	case 16:
		return types.ArrayOfBoolean{Boolean: []bool{true, false}}
	case 17:
		return types.ArrayOfManagedObjectReference{ManagedObjectReference: []types.ManagedObjectReference{f.moref(), f.moref()}}
	case 18:
		v := types.ArrayOfAnyType{}
		if depth < f.maxDepth {
			v.AnyType = []types.AnyType{f.anyValue(depth + 1), f.anyValue(depth + 1)}
		}
		return v
	case 19:
		return types.ArrayOfDouble{Double: []float64{f.float()}}
	case 20:
		v := reflect.New(reflect.TypeOf(types.KeyAnyValue{})).Elem()
		f.fill(v, depth+1)
		return v.Interface()
	default:
		v := reflect.New(reflect.TypeOf(types.LocalizedMethodFault{})).Elem()
		f.fill(v, depth+1)
		return v.Interface()
	}
}

func (f *filler) fill(v reflect.Value, depth int) {
	if f.budget <= 0 || depth > f.maxDepth {
		return
	}
	f.budget--
	t := v.Type()
	switch t.Kind() {
	case reflect.Bool:
		v.SetBool(f.r.Intn(3) != 0)
	case reflect.String:
		if t.Name() != "string" { // enum
			v.SetString(f.word())
		} else {
			v.SetString(f.str())
		}
	case reflect.Int8:
		v.SetInt(f.int64v(8))
	case reflect.Int16:
		v.SetInt(f.int64v(16))
	case reflect.Int32:
		v.SetInt(f.int64v(32))
	case reflect.Int, reflect.Int64:
		v.SetInt(f.int64v(64))
	case reflect.Uint8:
		v.SetUint(f.uint64v(8))
	case reflect.Uint16:
		v.SetUint(f.uint64v(16))
	case reflect.Uint32:
		v.SetUint(f.uint64v(32))
	case reflect.Uint, reflect.Uint64:
		v.SetUint(f.uint64v(64))
	case reflect.Float32:
		v.SetFloat(float64(float32(f.float())))
	case reflect.Float64:
		v.SetFloat(f.float())
	case reflect.Ptr:
		p := reflect.New(t.Elem())
		f.fill(p.Elem(), depth+1)
		v.Set(p)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			v.SetBytes(f.bytesv())
			return
		}
		n := 1
		if depth < 3 {
			n += f.r.Intn(2)
		}
		s := reflect.MakeSlice(t, n, n)
		for i := 0; i < n; i++ {
			f.fill(s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Interface:
		if t.NumMethod() == 0 {
			x := f.anyValue(depth)
			f.choose("AnyType", reflect.TypeOf(x))
			v.Set(reflect.ValueOf(&x).Elem())
			return
		}
		impls := implementors(t)
		if len(impls) == 0 {
			return
		}
		c := impls[f.r.Intn(len(impls))]
		f.choose(t.Name(), c)
		p := reflect.New(c)
		f.fill(p.Elem(), depth+1)
		v.Set(p)
	case reflect.Struct:
		switch t {
		case timeType:
			v.Set(reflect.ValueOf(f.timev()))
			return
		case morefType:
			v.Set(reflect.ValueOf(f.moref()))
			return
		}
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if sf.PkgPath != "" {
				continue
			}
			if sf.Anonymous {
				f.budget++ // embedding is not a value
				f.fill(v.Field(i), depth)
			} else {
				f.fill(v.Field(i), depth+1)
			}
		}
	}
}

// firstDiff returns the path of the first difference between two JSON documents ("" if equal).
func firstDiff(a, b []byte) (string, string, string) {
	var x, y interface{}
	_ = json.Unmarshal(a, &x)
	_ = json.Unmarshal(b, &y)
	return diffValues("", x, y)
}

func diffValues(path string, x, y interface{}) (string, string, string) {
	switch xv := x.(type) {
	case map[string]interface{}:
		yv, ok := y.(map[string]interface{})
		if ok {
			keys := make([]string, 0, len(xv))
			for k := range xv {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if p, s1, s2 := diffValues(path+"."+k, xv[k], yv[k]); p != "" {
					return p, s1, s2
				}
			}
			if len(xv) == len(yv) {
				return "", "", ""
			}
		}
	case []interface{}:
		yv, ok := y.([]interface{})
		if ok && len(xv) == len(yv) {
			for i := range xv {
				if p, s1, s2 := diffValues(fmt.Sprintf("%s[%d]", path, i), xv[i], yv[i]); p != "" {
					return p, s1, s2
				}
			}
			return "", "", ""
		}
	default:
		if reflect.DeepEqual(x, y) {
			return "", "", ""
		}
	}
	s1, _ := json.Marshal(x)
	s2, _ := json.Marshal(y)
	if path == "" {
		path = "."
	}
	return path, clip(string(s1)), clip(string(s2))
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}

type classError struct {
	Class string `json:"class"`
	Error string `json:"error"`
}

type mangled struct {
	Class    string `json:"class"`
	Path     string `json:"path"`
	Posted   string `json:"posted"`
	ReadBack string `json:"readBack"`
}

func cmdFill(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("fill", flag.ExitOnError)
	seed := fs.Int64("seed", 1, "seed of the filling")
	only := fs.String("classes", "", "comma-separated classes (default: every Event class)")
	maxDepth := fs.Int("max-depth", 7, "nesting depth beyond which values stay zero")
	budget := fs.Int("budget", 1500, "values filled per event at most")
	_ = fs.Parse(args)
	if typeRegistry == nil {
		return errors.New("fill: vim25 type registry not linked")
	}

	classes, aliases := eventClasses()
	if *only != "" {
		classes = strings.Split(*only, ",")
	}

	c, err := connect(ctx)
	if err != nil {
		return err
	}
	defer c.close(ctx)

	rejected := []classError{}
	type postedEvent struct {
		class string
		ev    types.BaseEvent
		json  []byte
	}
	posted := map[string]postedEvent{}
	chosen := map[string]map[string]bool{}
	for i, class := range classes {
		ev, err := newEvent(class)
		if err != nil {
			rejected = append(rejected, classError{class, err.Error()})
			continue
		}
		h := fnv.New64a()
		_, _ = h.Write([]byte(class))
		f := &filler{r: rand.New(rand.NewSource(*seed*1000003 ^ int64(h.Sum64()))), budget: *budget, maxDepth: *maxDepth, chosen: chosen}
		f.fill(reflect.ValueOf(ev).Elem(), 0)
		marker := fmt.Sprintf("fill/%d/%d", *seed, i)
		ev.GetEvent().ChangeTag = marker
		b, err := json.Marshal(ev)
		if err != nil {
			rejected = append(rejected, classError{class, "json.Marshal: " + err.Error()})
			continue
		}
		if err := postEvent(ctx, c.c, ev); err != nil {
			rejected = append(rejected, classError{class, "PostEvent: " + err.Error()})
			continue
		}
		posted[marker] = postedEvent{class, ev, b}
	}

	// read back: a collector over everything, latestPage (the last 1000 events)
	filter := rootFilter(1000)
	filter.Entity = &types.EventFilterSpecByEntity{Entity: c.c.ServiceContent.RootFolder, Recursion: types.EventFilterSpecRecursionOptionAll}
	hc, err := event.NewManager(c.c).CreateCollectorForEvents(ctx, filter)
	if err != nil {
		return err
	}
	defer func() { _ = hc.Destroy(ctx) }()
	page, err := hc.LatestPage(ctx)
	if err != nil {
		return err
	}
	sort.SliceStable(page, func(i, j int) bool { return page[i].GetEvent().Key < page[j].GetEvent().Key })

	type line struct {
		Key   int32  `json:"key"`
		Class string `json:"class"`
		JSON  string `json:"json"` // as text: a JS JSON.parse would round int64 values
		XML   string `json:"xml"`  // encoding/xml.Marshal (see eventLine in main.go)
	}
	events := []line{}
	mangledList := []mangled{}
	seen := map[string]bool{}
	for _, ev := range page {
		e := ev.GetEvent()
		p, ok := posted[e.ChangeTag]
		if !ok || seen[e.ChangeTag] {
			continue
		}
		seen[e.ChangeTag] = true
		got, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		gotXML, err := xml.Marshal(ev)
		if err != nil {
			return err
		}
		cls := reflect.TypeOf(ev).Elem().Name()
		events = append(events, line{Key: e.Key, Class: cls, JSON: string(got), XML: string(gotXML)})
		// what was posted, with the values the simulator sets itself
		pe := p.ev.GetEvent()
		pe.Key, pe.ChainId, pe.CreatedTime, pe.UserName, pe.FullFormattedMessage =
			e.Key, e.ChainId, e.CreatedTime, e.UserName, e.FullFormattedMessage
		want, _ := json.Marshal(p.ev)
		if cls != p.class {
			mangledList = append(mangledList, mangled{Class: p.class, Path: "(class)", Posted: p.class, ReadBack: cls})
		} else if !bytes.Equal(want, got) {
			path, a, b := firstDiff(want, got)
			if path == "" {
				path, a, b = "(key order)", clip(string(want)), clip(string(got))
			}
			mangledList = append(mangledList, mangled{Class: p.class, Path: path, Posted: a, ReadBack: b})
		}
	}
	missing := []classError{}
	markers := make([]string, 0, len(posted))
	for m := range posted {
		markers = append(markers, m)
	}
	sort.Strings(markers)
	for _, m := range markers {
		if !seen[m] {
			missing = append(missing, classError{posted[m].class, "posted but not in the collector's latestPage"})
		}
	}
	chosenLists := map[string][]string{}
	for iface, m := range chosen {
		for t := range m {
			chosenLists[iface] = append(chosenLists[iface], strings.TrimPrefix(t, "types."))
		}
		sort.Strings(chosenLists[iface])
	}
	printJSON(map[string]interface{}{
		"chosen":   chosenLists,
		"seed":     *seed,
		"classes":  classes,
		"aliases":  aliases,
		"rejected": rejected,
		"missing":  missing,
		"mangled":  mangledList,
		"events":   events,
	})
	return nil
}
