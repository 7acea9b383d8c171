// vcsim: a govmomi (Debian golang-github-vmware-govmomi-dev, 0.24) vCenter
// simulator for the event router's integration tests.
//
// Prints one JSON line {"url":"http://127.0.0.1:PORT/sdk","pid":N} on stdout
// when ready, then serves until SIGTERM/SIGINT.
package main

import (
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"log"
	"net"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"text/template"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/simulator/esx"
)

func fatal(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "vcsim: "+format+"\n", args...)
	os.Exit(1)
}

// waitBindable retries until addr can be bound (e.g. right after a SIGKILLed
// predecessor released it), so that restarts on the same port are reliable.
func waitBindable(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		l, err := net.Listen("tcp", addr)
		if err == nil {
			return l.Close()
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "listen address host:port (port 0 = pick a free port)")
	username := flag.String("username", "user", "the only user name accepted by Login")
	password := flag.String("password", "pass", "the only password accepted by Login")
	idle := flag.Duration("session-idle-timeout", 0, "expire sessions idle for this long (0 = never)")
	useTLS := flag.Bool("tls", false, "serve https (self-signed localhost certificate) instead of http")
	tlsCert := flag.String("tls-cert", "", "with -tls: serve this PEM certificate (chain) instead of the self-signed one")
	tlsKey := flag.String("tls-key", "", "with -tls-cert: the PEM private key of that certificate")
	trace := flag.Bool("trace", false, "dump SOAP requests/responses on stderr")
	quiet := flag.Bool("quiet", true, "silence the simulator's log output")
	stdinEOF := flag.Bool("exit-on-stdin-eof", false, "exit when stdin is closed (the parent died)")
	esx := flag.Bool("esx", false, "simulate a standalone ESXi host (simulator.ESX()) instead of a vCenter")
	flag.Parse()

	if *username == "" || *password == "" {
		fatal("-username and -password must not be empty")
	}
	if *quiet && !*trace {
		log.SetOutput(ioutil.Discard)
	}
	if *trace {
		simulator.Trace = true
		simulator.TraceFile = os.Stderr
	}

	simulator.SessionIdleTimeout = *idle

	fixEventTemplates()

	model := simulator.VPX() // 1 datacenter, 1 cluster (3 hosts), 1 standalone host, 2 VMs per host/cluster
	if *esx {
		model = simulator.ESX() // one host, ha-datacenter, 2 VMs, no instanceUuid
	}
	if err := model.Create(); err != nil {
		fatal("model create: %s", err)
	}

	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*username, *password)}
	if (*tlsCert == "") != (*tlsKey == "") {
		fatal("-tls-cert and -tls-key go together")
	}
	if *useTLS {
		model.Service.TLS = new(tls.Config)
		if *tlsCert != "" {
			// A certificate issued by a test CA: clients verify it against that CA.
			pair, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
			if err != nil {
				fatal("-tls-cert/-tls-key: %s", err)
			}
			model.Service.TLS.Certificates = []tls.Certificate{pair}
		}
	} else if *tlsCert != "" {
		fatal("-tls-cert needs -tls")
	}

	if err := waitBindable(*listen, 10*time.Second); err != nil {
		fatal("cannot listen on %s: %s", *listen, err)
	}

	server := model.Service.NewServer()

	u := *server.URL
	u.User = nil
	line, _ := json.Marshal(struct {
		URL string `json:"url"`
		PID int    `json:"pid"`
	}{u.String(), os.Getpid()})
	fmt.Println(string(line))
	_ = os.Stdout.Sync()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	if *stdinEOF {
		go func() {
			_, _ = io.Copy(ioutil.Discard, os.Stdin)
			sig <- syscall.SIGTERM
		}()
	}
	<-sig

	// Close listeners first, without waiting on hanging WaitForUpdatesEx calls.
	_ = server.Listener.Close()
	done := make(chan struct{})
	go func() {
		server.CloseClientConnections()
		model.Remove()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	os.Exit(0)
}

// fixEventTemplates repairs the EventManager's message templates that Go's
// text/template cannot parse. Debian's govmomi 0.24 ships two with a typo
// (VmMigratedEvent and VmBeingMigratedEvent: "{{.SourceHost.Name}, ..."), and
// the simulator's PostEvent panics on them (template.Must), closing the
// connection: neither class could be posted. A single "}" closing an action
// becomes "}}"; every other template is left as it is.
func fixEventTemplates() {
	for i := range esx.EventInfo {
		info := &esx.EventInfo[i]
		if _, err := template.New(info.Key).Parse(info.FullFormat); err == nil {
			continue
		}
		fixed := regexp.MustCompile(`(\{\{[^{}]*\})([^}]|$)`).ReplaceAllString(info.FullFormat, "$1}$2")
		if _, err := template.New(info.Key).Parse(fixed); err == nil {
			info.FullFormat = fixed
		}
	}
}
