// reffollower: the benchmark's reference client. It follows a (simulated)
// vCenter's event stream the way the original VMware Event Router did, with
// govmomi's event.Manager.Events on the root folder, page size 1, tail, and
// for each event builds a CloudEvent (structured JSON, the attributes our
// router sets) and POSTs it to -post-url, one request per event, sequentially
// (the original's OpenFaaS sync path).
//
//	reffollower -url http://127.0.0.1:PORT/sdk -username U -password P \
//	    -post-url http://127.0.0.1:GW/function/ref-bench.openfaas-fn [-subjects A,B] [-page-size 1]
//
// Prints {"ready":true} on stdout once the first latestPage has been handled,
// then one {"error":...} line per failed POST (counted, never retried). On
// SIGTERM/SIGINT it stops following, destroys the collector, logs out and
// prints {"posted":N,"failed":M,"skipped":S}.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"reflect"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/event"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// Same namespace as src/events/cloudevent.ts, so ids are comparable.
var idNamespace = uuid.MustParse("5b7e1f0a-3c2d-4e8f-9a1b-6c5d4e3f2a10")

const typePrefix = "com.vmware.event.router"

type cloudEvent struct {
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	SpecVersion     string          `json:"specversion"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject"`
	Time            time.Time       `json:"time"`
	Data            json.RawMessage `json:"data"`
	DataContentType string          `json:"datacontenttype"`
}

func typeAndSubject(ev types.BaseEvent) (string, string) {
	class := reflect.TypeOf(ev).Elem().Name()
	switch e := ev.(type) {
	case *types.EventEx:
		if e.EventTypeId != "" {
			return typePrefix + "/eventex", e.EventTypeId
		}
		return typePrefix + "/eventex", class
	case *types.ExtendedEvent:
		if e.EventTypeId != "" {
			return typePrefix + "/extendedevent", e.EventTypeId
		}
		return typePrefix + "/extendedevent", class
	}
	return typePrefix + "/event", class
}

func main() {
	rawURL := flag.String("url", "", "vCenter SDK URL")
	user := flag.String("username", "user", "user name")
	pass := flag.String("password", "pass", "password")
	postURL := flag.String("post-url", "", "URL every CloudEvent is POSTed to")
	subjects := flag.String("subjects", "", "comma-separated subjects to POST (empty: all)")
	pageSize := flag.Int("page-size", 1, "collector page size (the original router: 1)")
	insecure := flag.Bool("insecure", true, "skip TLS verification")
	flag.Parse()
	if *rawURL == "" || *postURL == "" {
		fmt.Fprintln(os.Stderr, "reffollower: -url and -post-url are required")
		os.Exit(2)
	}
	want := map[string]bool{}
	for _, s := range strings.Split(*subjects, ",") {
		if s = strings.TrimSpace(s); s != "" {
			want[s] = true
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-sigs; cancel() }()

	u, err := soap.ParseURL(*rawURL)
	if err != nil {
		fail(err)
	}
	source := *rawURL
	u.User = nil
	if pu, perr := url.Parse(*rawURL); perr == nil {
		pu.User = nil
		source = pu.String()
	}
	sc := soap.NewClient(u, *insecure)
	c, err := vim25.NewClient(ctx, sc)
	if err != nil {
		fail(err)
	}
	sm := session.NewManager(c)
	if err := sm.Login(ctx, url.UserPassword(*user, *pass)); err != nil {
		fail(err)
	}
	instanceUUID := c.ServiceContent.About.InstanceUuid

	httpc := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true},
	}
	enc := json.NewEncoder(os.Stdout)
	var posted, failed, skipped int
	ready := false

	handler := func(_ types.ManagedObjectReference, events []types.BaseEvent) error {
		// latestPage is newest first; deliver oldest first like the original.
		for i := len(events) - 1; i >= 0; i-- {
			ev := events[i]
			typ, subject := typeAndSubject(ev)
			if len(want) > 0 && !want[subject] {
				skipped++
				continue
			}
			e := ev.GetEvent()
			data, err := json.Marshal(ev)
			if err != nil {
				failed++
				_ = enc.Encode(map[string]string{"error": err.Error()})
				continue
			}
			body, _ := json.Marshal(cloudEvent{
				ID:              uuid.NewSHA1(idNamespace, []byte(fmt.Sprintf("%s/%d", instanceUUID, e.Key))).String(),
				Source:          source,
				SpecVersion:     "1.0",
				Type:            typ,
				Subject:         subject,
				Time:            e.CreatedTime,
				Data:            data,
				DataContentType: "application/json",
			})
			req, _ := http.NewRequest(http.MethodPost, *postURL, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Topic", subject)
			res, err := httpc.Do(req)
			if err != nil {
				failed++
				_ = enc.Encode(map[string]string{"error": err.Error()})
				continue
			}
			_, _ = io.Copy(ioutil.Discard, res.Body)
			_ = res.Body.Close()
			if res.StatusCode >= 300 {
				failed++
				_ = enc.Encode(map[string]string{"error": res.Status})
				continue
			}
			posted++
		}
		if !ready {
			ready = true
			_ = enc.Encode(map[string]bool{"ready": true})
		}
		return nil
	}

	m := event.NewManager(c)
	err = m.Events(ctx, []types.ManagedObjectReference{c.ServiceContent.RootFolder}, int32(*pageSize), true, false, handler)
	if err != nil && ctx.Err() == nil {
		fmt.Fprintf(os.Stderr, "reffollower: Events: %s\n", err)
	}
	lctx, lcancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = sm.Logout(lctx)
	lcancel()
	_ = enc.Encode(map[string]int{"posted": posted, "failed": failed, "skipped": skipped})
	if err != nil && ctx.Err() == nil {
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "reffollower: %s\n", err)
	os.Exit(1)
}
