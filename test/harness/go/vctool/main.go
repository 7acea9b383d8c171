// vctool: drives a (simulated) vCenter with govmomi for the event router's
// integration tests, and prints govmomi's own JSON encoding of the events
// (the reference the TypeScript converter is compared against).
//
//	vctool -url URL [-username U -password P] [-session-file F] [-insecure] SUBCOMMAND [flags]
//
// Subcommands: post, burst, vm, events, about, wait, fill (fill.go).
// Every subcommand prints JSON on stdout; errors go to stderr with exit code 1.
//
// With -session-file the session cookie is saved and reused by later calls, so
// that only the first call logs in (the simulator posts a UserLoginSessionEvent
// on every Login and a UserLogoutSessionEvent on every Logout). Without it each
// call logs in and logs out.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io/ioutil"
	"math"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/event"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

var (
	flagURL         = flag.String("url", "", "vCenter SDK URL, e.g. http://127.0.0.1:8989/sdk")
	flagUser        = flag.String("username", "user", "user name")
	flagPass        = flag.String("password", "pass", "password")
	flagSessionFile = flag.String("session-file", "", "save/reuse the session cookie in this file (no Logout)")
	flagInsecure    = flag.Bool("insecure", true, "skip TLS verification")
	flagTimeout     = flag.Duration("timeout", 5*time.Minute, "overall timeout")
)

func fail(err error) {
	fmt.Fprintf(os.Stderr, "vctool: %s\n", err)
	os.Exit(1)
}

func printJSON(v interface{}) {
	b, err := json.Marshal(v)
	if err != nil {
		fail(err)
	}
	fmt.Println(string(b))
}

// ---------------------------------------------------------------- connection

type conn struct {
	c      *vim25.Client
	logout bool
}

func connect(ctx context.Context) (*conn, error) {
	if *flagURL == "" {
		return nil, errors.New("-url is required")
	}
	u, err := soap.ParseURL(*flagURL)
	if err != nil {
		return nil, err
	}
	u.User = nil
	sc := soap.NewClient(u, *flagInsecure)
	c, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, err
	}
	sm := session.NewManager(c)

	if *flagSessionFile != "" {
		if b, err := ioutil.ReadFile(*flagSessionFile); err == nil && len(b) > 0 {
			sc.Jar.SetCookies(u, []*http.Cookie{{Name: soap.SessionCookieName, Value: strings.TrimSpace(string(b))}})
			if us, err := sm.UserSession(ctx); err == nil && us != nil {
				return &conn{c: c}, nil
			}
			sc.Jar.SetCookies(u, []*http.Cookie{{Name: soap.SessionCookieName, Value: "", MaxAge: -1}})
		}
	}

	if err := sm.Login(ctx, url.UserPassword(*flagUser, *flagPass)); err != nil {
		return nil, err
	}

	if *flagSessionFile != "" {
		for _, ck := range sc.Jar.Cookies(u) {
			if ck.Name == soap.SessionCookieName {
				_ = ioutil.WriteFile(*flagSessionFile, []byte(ck.Value), 0600)
			}
		}
		return &conn{c: c}, nil
	}
	return &conn{c: c, logout: true}, nil
}

func (c *conn) close(ctx context.Context) {
	if c.logout {
		_ = session.NewManager(c.c).Logout(ctx)
	}
}

// ---------------------------------------------------------------- inventory

// entityArgs returns the entity arguments (Datacenter, ComputeResource, Host, Vm)
// of the VM with the given name ("" = first VM found).
func entityArgs(ctx context.Context, c *vim25.Client, name string) (*types.Event, error) {
	finder := find.NewFinder(c, true)
	var vm *object.VirtualMachine
	if name == "" {
		vms, err := finder.VirtualMachineList(ctx, "/*/vm/*")
		if err != nil {
			return nil, err
		}
		sort.Slice(vms, func(i, j int) bool { return vms[i].Name() < vms[j].Name() })
		vm = vms[0]
	} else {
		dcs, err := finder.DatacenterList(ctx, "*")
		if err != nil {
			return nil, err
		}
		for _, dc := range dcs {
			finder.SetDatacenter(dc)
			if v, err := finder.VirtualMachine(ctx, name); err == nil {
				vm = v
				break
			}
		}
		if vm == nil {
			return nil, fmt.Errorf("vm %q not found", name)
		}
	}

	pc := property.DefaultCollector(c)
	var mvm mo.VirtualMachine
	if err := pc.RetrieveOne(ctx, vm.Reference(), []string{"name", "runtime.host"}, &mvm); err != nil {
		return nil, err
	}
	e := &types.Event{}
	e.Vm = &types.VmEventArgument{EntityEventArgument: types.EntityEventArgument{Name: mvm.Name}, Vm: vm.Reference()}

	if mvm.Runtime.Host != nil {
		var host mo.HostSystem
		if err := pc.RetrieveOne(ctx, *mvm.Runtime.Host, []string{"name", "parent"}, &host); err != nil {
			return nil, err
		}
		e.Host = &types.HostEventArgument{EntityEventArgument: types.EntityEventArgument{Name: host.Name}, Host: host.Reference()}
		if host.Parent != nil {
			var cr mo.ManagedEntity
			if err := pc.RetrieveOne(ctx, *host.Parent, []string{"name"}, &cr); err != nil {
				return nil, err
			}
			e.ComputeResource = &types.ComputeResourceEventArgument{EntityEventArgument: types.EntityEventArgument{Name: cr.Name}, ComputeResource: *host.Parent}
		}
	}

	// walk up to the datacenter
	ref := vm.Reference()
	for i := 0; i < 32; i++ {
		var me mo.ManagedEntity
		if err := pc.RetrieveOne(ctx, ref, []string{"name", "parent"}, &me); err != nil {
			return nil, err
		}
		if ref.Type == "Datacenter" {
			e.Datacenter = &types.DatacenterEventArgument{EntityEventArgument: types.EntityEventArgument{Name: me.Name}, Datacenter: ref}
			break
		}
		if me.Parent == nil {
			break
		}
		ref = *me.Parent
	}
	return e, nil
}

// fillEntities copies the entity args of src into dst where dst has none.
func fillEntities(dst, src *types.Event) {
	if dst.Datacenter == nil {
		dst.Datacenter = src.Datacenter
	}
	if dst.ComputeResource == nil {
		dst.ComputeResource = src.ComputeResource
	}
	if dst.Host == nil {
		dst.Host = src.Host
	}
	if dst.Vm == nil {
		dst.Vm = src.Vm
	}
}

// ---------------------------------------------------------------- events from JSON

var typeFunc = types.TypeFunc()

var baseEventType = reflect.TypeOf((*types.BaseEvent)(nil)).Elem()

func newEvent(class string) (types.BaseEvent, error) {
	t, ok := typeFunc(class)
	if !ok {
		return nil, fmt.Errorf("unknown vim25 type %q", class)
	}
	v := reflect.New(t)
	ev, ok := v.Interface().(types.BaseEvent)
	if !ok || !reflect.PtrTo(t).Implements(baseEventType) {
		return nil, fmt.Errorf("%q is not an Event class", class)
	}
	return ev, nil
}

// fixAny gives the anyType values decoded from JSON an xsd type:
// integers become int32 (xsd:int) or int64 (xsd:long) if out of int32 range,
// other numbers float64 (xsd:double), strings stay strings, booleans booleans.
func fixAny(v interface{}) interface{} {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			if i >= math.MinInt32 && i <= math.MaxInt32 {
				return int32(i)
			}
			return i
		}
		f, _ := x.Float64()
		return f
	case float64:
		if x == math.Trunc(x) && x >= math.MinInt32 && x <= math.MaxInt32 {
			return int32(x)
		}
		return x
	}
	return v
}

// fixAnyTypes walks v and rewrites the values held by interface{} (AnyType) fields.
func fixAnyTypes(v reflect.Value) {
	switch v.Kind() {
	case reflect.Ptr:
		if !v.IsNil() {
			fixAnyTypes(v.Elem())
		}
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		inner := v.Elem()
		if v.Type().NumMethod() == 0 && v.CanSet() { // AnyType / interface{}
			fixed := fixAny(inner.Interface())
			v.Set(reflect.ValueOf(&fixed).Elem())
			return
		}
		fixAnyTypes(inner)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).PkgPath != "" {
				continue
			}
			fixAnyTypes(v.Field(i))
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			fixAnyTypes(v.Index(i))
		}
	}
}

type postSpec struct {
	Class    string          `json:"class"`
	Fields   json.RawMessage `json:"fields"`
	Entities string          `json:"entities"`
}

func buildEvent(ctx context.Context, c *vim25.Client, spec postSpec, cache map[string]*types.Event) (types.BaseEvent, error) {
	ev, err := newEvent(spec.Class)
	if err != nil {
		return nil, err
	}
	if len(spec.Fields) > 0 && string(spec.Fields) != "null" {
		dec := json.NewDecoder(strings.NewReader(string(spec.Fields)))
		dec.UseNumber()
		if err := dec.Decode(ev); err != nil {
			return nil, fmt.Errorf("%s fields: %s", spec.Class, err)
		}
	}
	fixAnyTypes(reflect.ValueOf(ev))

	if spec.Entities != "" {
		kind, name := spec.Entities, ""
		if i := strings.Index(spec.Entities, ":"); i >= 0 {
			kind, name = spec.Entities[:i], spec.Entities[i+1:]
		}
		if kind != "vm" {
			return nil, fmt.Errorf("entities %q: only vm:NAME is supported", spec.Entities)
		}
		args, ok := cache[name]
		if !ok {
			args, err = entityArgs(ctx, c, name)
			if err != nil {
				return nil, err
			}
			cache[name] = args
		}
		fillEntities(ev.GetEvent(), args)
	}
	return ev, nil
}

func postEvent(ctx context.Context, c *vim25.Client, ev types.BaseEvent) error {
	req := types.PostEvent{This: *c.ServiceContent.EventManager, EventToPost: ev}
	_, err := methods.PostEvent(ctx, c, &req)
	return err
}

func cmdPost(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("post", flag.ExitOnError)
	_ = fs.Parse(args)

	c, err := connect(ctx)
	if err != nil {
		return err
	}
	defer c.close(ctx)

	cache := map[string]*types.Event{}
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1024*1024), 64*1024*1024)
	n := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var spec postSpec
		if err := json.Unmarshal([]byte(line), &spec); err != nil {
			return fmt.Errorf("line %d: %s", n+1, err)
		}
		ev, err := buildEvent(ctx, c.c, spec, cache)
		if err != nil {
			return fmt.Errorf("line %d: %s", n+1, err)
		}
		if err := postEvent(ctx, c.c, ev); err != nil {
			return fmt.Errorf("line %d: PostEvent: %s", n+1, err)
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return err
	}
	printJSON(map[string]int{"posted": n})
	return nil
}

func cmdBurst(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("burst", flag.ExitOnError)
	class := fs.String("class", "VmPoweredOnEvent", "event class")
	count := fs.Int("count", 100, "number of events")
	concurrency := fs.Int("concurrency", 4, "concurrent PostEvent calls")
	vmName := fs.String("vm", "", "VM whose entity args are used (default: first VM)")
	rate := fs.Float64("rate", 0, "events per second (0: as fast as possible)")
	_ = fs.Parse(args)

	if _, err := newEvent(*class); err != nil {
		return err
	}
	c, err := connect(ctx)
	if err != nil {
		return err
	}
	defer c.close(ctx)

	ents, err := entityArgs(ctx, c.c, *vmName)
	if err != nil {
		return err
	}
	if *concurrency < 1 {
		*concurrency = 1
	}

	start := time.Now()
	var next, posted int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < *concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := atomic.AddInt64(&next, 1)
				if i > int64(*count) {
					return
				}
				if *rate > 0 {
					// Event i is due at start + (i-1)/rate: a steady load, not a burst.
					time.Sleep(time.Until(start.Add(time.Duration(float64(i-1) / *rate * float64(time.Second)))))
				}
				ev, _ := newEvent(*class)
				fillEntities(ev.GetEvent(), ents)
				ev.GetEvent().FullFormattedMessage = fmt.Sprintf("burst %d", i)
				if err := postEvent(ctx, c.c, ev); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				atomic.AddInt64(&posted, 1)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("PostEvent after %d events: %s", posted, firstErr)
	}
	printJSON(map[string]interface{}{"posted": posted, "seconds": time.Since(start).Seconds()})
	return nil
}

// ---------------------------------------------------------------- vm ops

func cmdVM(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("vm", flag.ExitOnError)
	op := fs.String("op", "", "create|poweron|poweroff|reconfigure|destroy")
	name := fs.String("name", "", "VM name")
	cpus := fs.Int("cpus", 2, "reconfigure: NumCPUs")
	mem := fs.Int64("memory", 2048, "reconfigure: MemoryMB")
	annotation := fs.String("annotation", "reconfigured by vctool", "reconfigure: Annotation")
	_ = fs.Parse(args)
	if *name == "" {
		return errors.New("vm: -name is required")
	}

	c, err := connect(ctx)
	if err != nil {
		return err
	}
	defer c.close(ctx)

	finder := find.NewFinder(c.c, true)
	dc, err := finder.DefaultDatacenter(ctx)
	if err != nil {
		return err
	}
	finder.SetDatacenter(dc)

	var task *object.Task
	switch *op {
	case "create":
		folders, err := dc.Folders(ctx)
		if err != nil {
			return err
		}
		pool, err := finder.DefaultResourcePool(ctx)
		if err != nil {
			// several pools (cluster + standalone host): take the cluster's
			pools, lerr := finder.ResourcePoolList(ctx, "*/Resources")
			if lerr != nil || len(pools) == 0 {
				return err
			}
			pool = pools[0]
		}
		dss, err := finder.DatastoreList(ctx, "*")
		if err != nil || len(dss) == 0 {
			return fmt.Errorf("no datastore: %v", err)
		}
		spec := types.VirtualMachineConfigSpec{
			Name:     *name,
			GuestId:  string(types.VirtualMachineGuestOsIdentifierOtherGuest),
			NumCPUs:  1,
			MemoryMB: 128,
			Files:    &types.VirtualMachineFileInfo{VmPathName: fmt.Sprintf("[%s]", dss[0].Name())},
		}
		task, err = folders.VmFolder.CreateVM(ctx, spec, pool, nil)
		if err != nil {
			return err
		}
	case "poweron", "poweroff", "reconfigure", "destroy", "suspend", "reset":
		vm, err := finder.VirtualMachine(ctx, *name)
		if err != nil {
			return err
		}
		switch *op {
		case "poweron":
			task, err = vm.PowerOn(ctx)
		case "poweroff":
			task, err = vm.PowerOff(ctx)
		case "suspend":
			task, err = vm.Suspend(ctx)
		case "reset":
			task, err = vm.Reset(ctx)
		case "reconfigure":
			task, err = vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{
				NumCPUs: int32(*cpus), MemoryMB: *mem, Annotation: *annotation,
			})
		case "destroy":
			if st, perr := vm.PowerState(ctx); perr == nil && st == types.VirtualMachinePowerStatePoweredOn {
				if t, perr := vm.PowerOff(ctx); perr == nil {
					_ = t.Wait(ctx)
				}
			}
			task, err = vm.Destroy(ctx)
		}
		if err != nil {
			return err
		}
	default:
		return fmt.Errorf("vm: unknown -op %q", *op)
	}
	if err := task.Wait(ctx); err != nil {
		return err
	}
	printJSON(map[string]bool{"ok": true})
	return nil
}

// ---------------------------------------------------------------- reading events

type eventLine struct {
	Key   int32  `json:"key"`
	Class string `json:"class"`
	// XML: the standard library's encoding/xml.Marshal of the event, which is
	// what a CloudEvents SDK for Go puts in `data` for application/xml
	// (VSphereSource's default payload encoding). Before JSON: readers cut
	// the JSON text out from `,"json":` to the end of the line.
	XML  string          `json:"xml"`
	JSON json.RawMessage `json:"json"`
}

func eventLines(events []types.BaseEvent, since *int32) ([]eventLine, error) {
	sort.SliceStable(events, func(i, j int) bool { return events[i].GetEvent().Key < events[j].GetEvent().Key })
	var out []eventLine
	for _, ev := range events {
		k := ev.GetEvent().Key
		if since != nil && k <= *since {
			continue
		}
		b, err := json.Marshal(ev)
		if err != nil {
			return nil, err
		}
		x, err := xml.Marshal(ev)
		if err != nil {
			return nil, err
		}
		out = append(out, eventLine{Key: k, Class: reflect.TypeOf(ev).Elem().Name(), XML: string(x), JSON: b})
	}
	return out, nil
}

func rootFilter(pageSize int32) types.EventFilterSpec {
	return types.EventFilterSpec{
		MaxCount: pageSize,
	}
}

func cmdEvents(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("events", flag.ExitOnError)
	since := fs.Int64("since-key", math.MinInt64, "print only events with key > K")
	pageSize := fs.Int("page-size", 1000, "collector page size (max 1000)")
	_ = fs.Parse(args)

	c, err := connect(ctx)
	if err != nil {
		return err
	}
	defer c.close(ctx)

	filter := rootFilter(int32(*pageSize))
	filter.Entity = &types.EventFilterSpecByEntity{
		Entity:    c.c.ServiceContent.RootFolder,
		Recursion: types.EventFilterSpecRecursionOptionAll,
	}
	m := event.NewManager(c.c)
	hc, err := m.CreateCollectorForEvents(ctx, filter)
	if err != nil {
		return err
	}
	defer func() { _ = hc.Destroy(ctx) }()

	page, err := hc.LatestPage(ctx)
	if err != nil {
		return err
	}
	var sp *int32
	if *since != math.MinInt64 {
		s := int32(*since)
		sp = &s
	}
	lines, err := eventLines(page, sp)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(os.Stdout)
	for _, l := range lines {
		b, _ := json.Marshal(l)
		_, _ = w.Write(b)
		_ = w.WriteByte('\n')
	}
	return w.Flush()
}

// cmdWait demonstrates/tests WaitForUpdatesEx on EventHistoryCollector.latestPage:
// it creates a collector, waits for up to -count updates (or -max-wait), and prints
// for every update set {"version":V,"changes":[{"name":"latestPage","op":"assign","keys":[...]}]}
// (the keys of the latestPage each PropertyChange carried), or {"version":V,"timeout":true}.
func cmdWait(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("wait", flag.ExitOnError)
	count := fs.Int("count", 1, "number of update sets to wait for (after the initial one)")
	maxWait := fs.Int("max-wait", 10, "MaxWaitSeconds per WaitForUpdatesEx call")
	pageSize := fs.Int("page-size", 1000, "collector page size")
	_ = fs.Parse(args)

	c, err := connect(ctx)
	if err != nil {
		return err
	}
	defer c.close(ctx)

	filter := rootFilter(int32(*pageSize))
	filter.Entity = &types.EventFilterSpecByEntity{Entity: c.c.ServiceContent.RootFolder, Recursion: types.EventFilterSpecRecursionOptionAll}
	hc, err := event.NewManager(c.c).CreateCollectorForEvents(ctx, filter)
	if err != nil {
		return err
	}
	defer func() { _ = hc.Destroy(ctx) }()

	pc, err := property.DefaultCollector(c.c).Create(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = pc.Destroy(ctx) }()
	if err := pc.CreateFilter(ctx, types.CreateFilter{Spec: types.PropertyFilterSpec{
		ObjectSet: []types.ObjectSpec{{Obj: hc.Reference()}},
		PropSet:   []types.PropertySpec{{Type: "EventHistoryCollector", PathSet: []string{"latestPage"}}},
	}}); err != nil {
		return err
	}

	version := ""
	mw := int32(*maxWait)
	for i := 0; i <= *count; i++ {
		wres, err := methods.WaitForUpdatesEx(ctx, c.c, &types.WaitForUpdatesEx{
			This: pc.Reference(), Version: version, Options: &types.WaitOptions{MaxWaitSeconds: &mw},
		})
		if err != nil {
			return err
		}
		res := wres.Returnval
		if res == nil {
			printJSON(map[string]interface{}{"version": version, "timeout": true})
			continue
		}
		version = res.Version
		type change struct {
			Name string  `json:"name"`
			Op   string  `json:"op"`
			Keys []int32 `json:"keys"`
		}
		changes := []change{}
		for _, fu := range res.FilterSet {
			for _, ou := range fu.ObjectSet {
				for _, ch := range ou.ChangeSet {
					c := change{Name: ch.Name, Op: string(ch.Op), Keys: []int32{}}
					if arr, ok := ch.Val.(types.ArrayOfEvent); ok {
						for _, ev := range arr.Event {
							c.Keys = append(c.Keys, ev.GetEvent().Key)
						}
					}
					changes = append(changes, c)
				}
			}
		}
		printJSON(map[string]interface{}{"version": version, "changes": changes})
	}
	return nil
}

func cmdAbout(ctx context.Context, args []string) error {
	c, err := connect(ctx)
	if err != nil {
		return err
	}
	defer c.close(ctx)
	printJSON(c.c.ServiceContent.About)
	return nil
}

func main() {
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: vctool -url URL [-username U] [-password P] [-session-file F] post|burst|vm|events|wait|about|fill [flags]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() < 1 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *flagTimeout)
	defer cancel()

	cmds := map[string]func(context.Context, []string) error{
		"post": cmdPost, "burst": cmdBurst, "fill": cmdFill, "vm": cmdVM, "events": cmdEvents, "wait": cmdWait, "about": cmdAbout,
	}
	f, ok := cmds[flag.Arg(0)]
	if !ok {
		flag.Usage()
		os.Exit(2)
	}
	if err := f(ctx, flag.Args()[1:]); err != nil {
		fail(err)
	}
}
