// vijson: a VI/JSON (vSphere Web Services over JSON, vCenter 8.0U1+) test peer in
// front of the govmomi simulator (test/harness/bin/vcsim), so that the event
// router's VI/JSON client (the vCenter stream's `protocol` vi_json and auto) is
// tested against a server that speaks the wire format a vCenter 8.0U1+ speaks,
// with real simulator events behind it: no VI/JSON-capable simulator is
// packaged, and a client tested only against its own idea of the format would
// prove nothing. Built by scripts/build-harness.sh against Debian's
// govmomi 0.24 (which has NO VI/JSON code: the codec here is our own reflection
// over the 0.24 types, written to match the format of govmomi v0.31+'s
// vim25/json + vim25/types/json.go + vim25/soap/json_client.go, read from
// github.com/vmware/govmomi; none of that code is copied here).
//
//	vijson -target http://127.0.0.1:PORT/sdk [-listen 127.0.0.1:0] [-hello=true|false]
//	       [-releases 8.0.1.0,8.0.2.0,8.0.3.0] [-tls [-tls-cert FILE -tls-key FILE]]
//	       [-exit-on-stdin-eof]
//
// prints one JSON line {"url":"http://127.0.0.1:PORT/sdk","pid":N} on stdout when
// ready (like vcsim), then serves until SIGTERM/SIGINT (or stdin EOF with
// -exit-on-stdin-eof). -tls serves https (httptest's self-signed localhost
// certificate, or with -tls-cert/-tls-key a certificate a test CA issued, which
// clients then verify against that CA); an https -target is not verified.
//
// ENDPOINTS
//
//   - /sdk, /sdk/vimServiceVersions.xml and every other path not listed here:
//     reverse-proxied to the target UNCHANGED (SOAP; cookies pass through), so
//     vctool and the router's SOAP path work against the same URL. Counted in
//     /vijson-stats as soap_calls (by_soap_method: the SOAP Body's first element).
//   - POST /api/vcenter/system?action=hello  {"api_releases":["8.0.3.0","8.0.2.0"]}
//     -hello=true:  200 {"api_release":"<the first of the client's list this peer serves>"};
//     none of them served: 400 {"error_type":"INVALID_ARGUMENT","messages":[...]}.
//     -hello=false: 404 {"error_type":"NOT_FOUND","messages":[...]} (a vCenter 8.0.1).
//     No session needed.
//   - /sdk/vim25/{release}/{MoType}/{moId}/{MethodOrProperty}: VI/JSON (below).
//     Served releases (-releases): default 8.0.1.0,8.0.2.0,8.0.3.0 with -hello=true,
//     only 8.0.1.0 with -hello=false (a vCenter 8.0.1 serves no newer schema).
//     Any other release: 404. moId is percent-decoded (session-scoped ids look like
//     "session[5226...]52b1..."; send '[' ']' raw or as %5B %5D).
//   - GET /vijson-stats: {"vijson_calls":N,"soap_calls":M,"hello_calls":H,
//     "by_method":{"WaitForUpdatesEx":k,"GET ServiceInstance.content":1,...},
//     "by_soap_method":{"RetrieveServiceContent":1,...}} (counts requests, faults included).
//
// VI/JSON CALLS
//
//   - POST .../{MoType}/{moId}/{Method}: body = the method's parameters as ONE JSON
//     object keyed by the WSDL parameter names (e.g. {"version":"","options":{...}}),
//     WITHOUT "_this" (the path gives it; a "_this" member is rejected: 400). An empty
//     body means no parameters. A top-level "_typeName" is accepted and ignored
//     (govmomi's client sends {"_typeName":"<Method>",...}). Unknown members: 400.
//     The call becomes the SOAP request types.<Method>{This: {MoType, moId}, ...}
//     sent to the target with Cookie: vmware_soap_session=<session id>.
//   - GET .../ServiceInstance/ServiceInstance/content: RetrieveServiceContent.
//     GET .../{MoType}/{moId}/{property} otherwise: RetrievePropertiesEx on the
//     simulator's PropertyCollector for that one property (a dotted path works too).
//   - Session: send "vmware-api-session-id: <id>". Login (and any call on which the
//     simulator sets the vmware_soap_session cookie) answers the id in the
//     "vmware-api-session-id" RESPONSE header; no Set-Cookie is sent to VI/JSON
//     clients. The id IS the simulator's session cookie value (stateless mapping).
//     No header = no session (RetrieveServiceContent, Login, RetrievePropertiesEx work
//     without one, as on the simulator; everything else -> NotAuthenticated).
//
// RESPONSES (Content-Type: application/json)
//
//   - 200 + the method's result ("returnval") encoded as below: a data object is a
//     JSON object with "_typeName"; a method returning an array (xsd maxOccurs
//     unbounded, e.g. ReadPreviousEvents -> Event[]) answers a JSON ARRAY, [] when
//     empty; a primitive result is the bare JSON value (CurrentTime ->
//     "2026-12-02T14:30:00.123456789Z", not {"_typeName":"dateTime",...}).
//   - 204, empty body: a method without a result (Logout, DestroyCollector,
//     SetCollectorPageSize, ResetCollector, CancelWaitForUpdates, ...) AND a method
//     whose optional result is unset (WaitForUpdatesEx after maxWaitSeconds without
//     changes, RetrievePropertiesEx finding nothing). vCenter documents the latter as
//     "returns null": a client should accept both 204 and a 200 "null" body
//     (govmomi's json_client treats 204 and empty 2xx bodies as "no result").
//     A GET of an unset property also answers 204.
//   - 500 + the fault object: a SOAP fault from the simulator becomes
//       {"_typeName":"<fault type>","faultstring":"<SOAP faultstring>", <fault fields>}
//     e.g. {"_typeName":"InvalidLogin","faultstring":"Login failure"}
//          {"_typeName":"NotAuthenticated","faultstring":"","object":{"_typeName":
//           "ManagedObjectReference","type":"EventManager","value":"EventManager"},
//           "privilegeId":"System.View"}
//     "faultstring" is ALWAYS present here (the simulator sends "" for
//     NotAuthenticated; a real vCenter sends a message: treat it as optional text).
//     This is the shape govmomi's json_client decodes (vim25/soap/json_client.go,
//     responseUnmarshaler: the body decoded as the discriminated fault object, plus
//     a separate read of "faultstring"). faultMessage/faultCause appear when set.
//   - 400 {"_typeName":"InvalidRequest","faultstring":"..."}: body not decodable
//     (bad JSON, unknown member, wrong JSON type, unknown _typeName, "_this").
//   - 404 {"_typeName":"InvalidRequest","faultstring":"..."}: unknown release, unknown
//     method (no govmomi 0.24 request type of that name), malformed path.
//   - 502 text/plain: the simulator could not be reached / answered garbage.
//
// WIRE FORMAT (both directions; govmomi references are to github.com/vmware/govmomi
// v0.31+ unless 0.24 is said)
//
//   - Every data object (struct) is a JSON object whose FIRST member is
//     "_typeName": its vim25 type name (the Go type name of govmomi's types), at
//     every depth, including each element of arrays of data objects and declared
//     (non-polymorphic) fields: types.NewJSONEncoder sets
//     DiscriminatorEncodeTypeNameRootValue|DiscriminatorEncodeTypeNameAllObjects
//     (vim25/types/json.go); the real vCenter capture vim25/types/testdata/
//     retrieveResult.json has "_typeName" on every object. Polymorphic values
//     (Event subclasses in latestPage, MethodFault subclasses, SelectionSpec/
//     TraversalSpec...) are told apart by it: {"_typeName":"VmPoweredOnEvent",...}.
//   - Member names are the WSDL names = govmomi's xml tag names (createdTime,
//     fullFormattedMessage, chainId, latestPage, changeSet, ...). Fields of base
//     classes are flattened into the object (no "DynamicData" nesting).
//   - ManagedObjectReference: {"_typeName":"ManagedObjectReference","type":"Folder",
//     "value":"group-d1"} (retrieveResult.json).
//   - Omitted members: a field whose govmomi xml tag has ",omitempty" is left out when
//     it is the zero value (nil pointer/interface, empty string, 0, false, nil or EMPTY
//     array) - govmomi's json tags carry the same omitempty as its xml tags and
//     vim25/json's isEmptyValue omits len-0 slices. Required fields are always written
//     (e.g. Event "key", "chainId", "createdTime", "userName":"" even when empty).
//     So optional strings like fullFormattedMessage/changeTag vanish when "", and
//     optional arrays vanish when empty: a client must default missing members.
//     A REQUIRED array member (no omitempty, rare: e.g. VmAlreadyExistsInDatacenter
//     "vm") with no elements is written as [] (govmomi's encoder would write null);
//     a required pointer/anyType member that is unset is written as null (e.g.
//     KeyAnyValue "value":null); a required MoRef that is unset is
//     {"_typeName":"ManagedObjectReference","type":"","value":""}.
//   - Numbers: xsd int/short/byte/long/float/double are JSON numbers, long (int64)
//     too, with all digits: -9223372036854775808, never a string. JSON.parse in
//     JavaScript rounds integers beyond 2^53 (real WWNs in HostWwnChangedEvent
//     newNodeWwns/oldNodeWwns, long members of filled test events): parse losslessly
//     where exact digits matter. Requests: an integer member must be a JSON integer
//     within the Go type's range ("5.0", "5e3" or an out-of-range value -> 400).
//     Floats as Go's encoding/json writes them. Booleans: true/false.
//   - dateTime: a JSON string, RFC 3339 with the simulator's precision, UTC "Z":
//     "2026-12-02T14:30:00.123456789Z" (Go's time.Time JSON = RFC3339Nano, trailing
//     zeros trimmed, as govmomi's encoder writes it). A real vCenter writes
//     microseconds ("2023-01-14T08:57:35.279575Z", retrieveResult.json): parse any
//     number of fraction digits, including none.
//   - binary (xsd:base64Binary, Go []byte): standard base64 with padding in a string.
//   - Enums: the bare string as a field ("overallStatus":"gray", "op":"assign").
//   - anyType values (DynamicProperty.val, PropertyChange.val, KeyAnyValue.value,
//     OptionValue.value, ...): ALWAYS boxed, {"_typeName":T,"_value":V} for
//     primitives, enums and arrays, where T is
//       boolean, byte, short, int, long, float, double, string, dateTime, binary
//     (vim25/types/json.go discriminatorNamesRegistry: bool->boolean, int32->int,
//     int64->long, float32->float, float64->double, time.Time->dateTime,
//     []byte->binary), an enum's type name ({"_typeName":"ManagedEntityStatus",
//     "_value":"gray"}), or ArrayOfX for arrays ({"_typeName":"ArrayOfEvent",
//     "_value":[{"_typeName":"VmPoweredOnEvent",...},...]}, {"_typeName":
//     "ArrayOfString","_value":["a"]}, {"_typeName":"ArrayOfManagedObjectReference",
//     "_value":[{"_typeName":"ManagedObjectReference",...}]}); an EMPTY ArrayOfX is
//     {"_typeName":"ArrayOfX","_value":[]} (retrieveResult.json) - never omitted,
//     never null. A data object in an anyType is just the object with its own
//     "_typeName" (no "_value" box): {"_typeName":"UpdateSet",...}.
//     So PropertyChange for latestPage:
//       {"_typeName":"PropertyChange","name":"latestPage","op":"assign",
//        "val":{"_typeName":"ArrayOfEvent","_value":[{"_typeName":"EventEx",...}]}}
//     and the RetrievePropertiesEx answer for latestPage:
//       {"_typeName":"RetrieveResult","objects":[{"_typeName":"ObjectContent",
//        "obj":{...MoRef...},"propSet":[{"_typeName":"DynamicProperty",
//        "name":"latestPage","val":{"_typeName":"ArrayOfEvent","_value":[...]}}]}]}
//     An unset required anyType member is written as null (e.g. PropertyChange
//     "val" when the simulator sends no <val>); an unset optional one is omitted.
//   - Arrays in declared (non-anyType) fields are plain JSON arrays (no ArrayOf box),
//     each data-object element with its own "_typeName".
//   - Requests are decoded by the same rules: "_typeName" is REQUIRED where the
//     declared type is polymorphic (an interface in govmomi: Base* or anyType, e.g.
//     PropertyFilterSpec.objectSet[].selectSet[] elements, KeyAnyValue.value) and
//     looked up in govmomi 0.24's types.TypeFunc() registry or the primitive names
//     above (plus "anyURI" as string); elsewhere it is optional and ignored (the
//     declared type wins). Boxed primitives need "_value". int64 accepts any JSON
//     integer. dateTime accepts RFC 3339 with or without fraction.
//   - GET of a property answers the property's value as its DECLARED type would be
//     encoded: an array property (EventHistoryCollector latestPage) as a plain JSON
//     array of objects with "_typeName", a primitive as the bare value, a data object
//     as an object (GET .../ServiceInstance/ServiceInstance/content ->
//     {"_typeName":"ServiceContent","rootFolder":{...},"propertyCollector":{...},
//     "sessionManager":{...},"eventManager":{...},"about":{"_typeName":"AboutInfo",
//     ...},...}).
//
// KNOWN DIFFERENCES FROM A REAL vCENTER: only what the simulator does (see
// test/harness/simulator.ts header: ReadNextEvents quirks, page fill bug, version
// "-", 250 ms WaitForUpdates tick...); dateTime precision (nanoseconds here,
// microseconds on vCenter); faultstring "" for NotAuthenticated; no per-release
// schema differences (every release serves govmomi 0.24's types, so 8.0-only
// members are unknown -> 400); no /api REST other than hello; no
// vmware-api-session-id on responses other than the one that set the cookie; the
// hello answer's release list is the -releases list; 204 for unset optional results
// (vCenter may send 200 null); member order follows govmomi's Go struct order.

// Command vijson is the VI/JSON test peer documented in the comment above.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vim25/xml"
)

func fatal(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "vijson: "+format+"\n", args...)
	os.Exit(1)
}

// ------------------------------------------------------------------ stats

type stats struct {
	mu           sync.Mutex
	vijson       int
	soap         int
	hello        int
	byMethod     map[string]int
	bySoapMethod map[string]int
}

func (s *stats) countViJSON(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vijson++
	s.byMethod[method]++
}

func (s *stats) countSOAP(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.soap++
	s.bySoapMethod[method]++
}

func (s *stats) countHello() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hello++
}

func (s *stats) serve(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	body, _ := json.Marshal(struct {
		ViJSON       int            `json:"vijson_calls"`
		SOAP         int            `json:"soap_calls"`
		Hello        int            `json:"hello_calls"`
		ByMethod     map[string]int `json:"by_method"`
		BySoapMethod map[string]int `json:"by_soap_method"`
	}{s.vijson, s.soap, s.hello, s.byMethod, s.bySoapMethod})
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// ------------------------------------------------------------------ server

type server struct {
	target   *url.URL // .../sdk
	client   *http.Client
	proxy    *httputil.ReverseProxy
	hello    bool
	releases []string
	stats    *stats
}

var soapMethodRE = regexp.MustCompile(`<(?:[A-Za-z0-9_-]+:)?Body\b[^>]*>\s*<(?:[A-Za-z0-9_-]+:)?([A-Za-z0-9_]+)`)

func (s *server) serveSOAP(w http.ResponseWriter, r *http.Request) {
	method := r.Method + " " + r.URL.Path
	if r.Method == http.MethodPost && r.Body != nil {
		body, err := ioutil.ReadAll(r.Body)
		_ = r.Body.Close()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if m := soapMethodRE.FindSubmatch(body); m != nil {
			method = string(m[1])
		}
		r.Body = ioutil.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	}
	s.stats.countSOAP(method)
	s.proxy.ServeHTTP(w, r)
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// vapiError is the vAPI (/api) standard error shape.
func vapiError(kind, msg string) []byte {
	b, _ := json.Marshal(map[string]interface{}{
		"error_type": kind,
		"messages": []map[string]interface{}{{
			"id": "vapi.peer.error", "default_message": msg, "args": []string{},
		}},
	})
	return b
}

func (s *server) serveHello(w http.ResponseWriter, r *http.Request) {
	s.stats.countHello()
	if !s.hello {
		writeJSON(w, http.StatusNotFound, vapiError("NOT_FOUND", "Not found."))
		return
	}
	if r.Method != http.MethodPost || r.URL.Query().Get("action") != "hello" {
		writeJSON(w, http.StatusNotFound, vapiError("NOT_FOUND", "Not found."))
		return
	}
	var req struct {
		APIReleases []string `json:"api_releases"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, vapiError("INVALID_ARGUMENT", "bad hello body: "+err.Error()))
		return
	}
	for _, want := range req.APIReleases {
		for _, have := range s.releases {
			if want == have {
				b, _ := json.Marshal(map[string]string{"api_release": have})
				writeJSON(w, http.StatusOK, b)
				return
			}
		}
	}
	writeJSON(w, http.StatusBadRequest, vapiError("INVALID_ARGUMENT",
		fmt.Sprintf("none of the api_releases %v is supported (%v)", req.APIReleases, s.releases)))
}

func faultBody(kind, msg string) []byte {
	return []byte(`{"_typeName":` + mustJSON(kind) + `,"faultstring":` + mustJSON(msg) + `}`)
}

func mustJSON(v interface{}) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...interface{}) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func (s *server) serveViJSON(w http.ResponseWriter, r *http.Request) {
	// /sdk/vim25/{release}/{MoType}/{moId}/{name}
	raw := strings.TrimPrefix(r.URL.EscapedPath(), "/sdk/vim25/")
	parts := strings.Split(raw, "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			s.stats.countViJSON("(bad path)")
			writeJSON(w, http.StatusNotFound, faultBody("InvalidRequest", "bad path: "+err.Error()))
			return
		}
		parts[i] = u
	}
	if len(parts) != 4 || parts[1] == "" || parts[2] == "" || parts[3] == "" {
		s.stats.countViJSON("(bad path)")
		writeJSON(w, http.StatusNotFound, faultBody("InvalidRequest", "expected /sdk/vim25/{release}/{MoType}/{moId}/{method or property}"))
		return
	}
	release, this, name := parts[0], types.ManagedObjectReference{Type: parts[1], Value: parts[2]}, parts[3]
	served := false
	for _, rel := range s.releases {
		served = served || rel == release
	}
	session := r.Header.Get("vmware-api-session-id")

	switch r.Method {
	case http.MethodGet:
		s.stats.countViJSON("GET " + this.Type + "." + name)
		if !served {
			writeJSON(w, http.StatusNotFound, faultBody("InvalidRequest", "release not served: "+release))
			return
		}
		s.getProperty(w, r, this, name, session)
	case http.MethodPost:
		s.stats.countViJSON(name)
		if !served {
			writeJSON(w, http.StatusNotFound, faultBody("InvalidRequest", "release not served: "+release))
			return
		}
		s.invoke(w, r, this, name, session)
	default:
		s.stats.countViJSON(r.Method + " " + name)
		writeJSON(w, http.StatusMethodNotAllowed, faultBody("InvalidRequest", "method not allowed: "+r.Method))
	}
}

func (s *server) invoke(w http.ResponseWriter, r *http.Request, this types.ManagedObjectReference, method, session string) {
	reqType, ok := types.TypeFunc()(method)
	if !ok || reqType.Kind() != reflect.Struct {
		writeJSON(w, http.StatusNotFound, faultBody("InvalidRequest", "unknown method: "+method))
		return
	}
	resType, ok := responseTypes[method]
	if !ok {
		writeJSON(w, http.StatusNotFound, faultBody("InvalidRequest", "unknown method (no response type): "+method))
		return
	}
	body, err := ioutil.ReadAll(r.Body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, faultBody("InvalidRequest", err.Error()))
		return
	}
	req := reflect.New(reqType)
	if err := decodeParams(req.Elem(), body); err != nil {
		writeJSON(w, http.StatusBadRequest, faultBody("InvalidRequest", err.Error()))
		return
	}
	if f := req.Elem().FieldByName("This"); f.IsValid() && f.Type() == morefType {
		f.Set(reflect.ValueOf(this))
	}
	res, fault, cookie, err := s.call(r.Context(), method, req.Interface(), resType, session)
	if cookie != "" {
		w.Header().Set("vmware-api-session-id", cookie)
	}
	s.respond(w, res, fault, err, func(res reflect.Value) (reflect.Value, bool) {
		rv := res.Elem().FieldByName("Returnval")
		return rv, rv.IsValid()
	})
}

func (s *server) respond(w http.ResponseWriter, res reflect.Value, fault *soap.Fault, err error,
	result func(reflect.Value) (reflect.Value, bool)) {
	if err != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, err.Error())
		return
	}
	if fault != nil {
		writeJSON(w, http.StatusInternalServerError, encodeFault(fault))
		return
	}
	rv, ok := result(res)
	if !ok {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	switch rv.Kind() {
	case reflect.Ptr, reflect.Interface:
		if rv.IsNil() {
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	var e encoder
	if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() != reflect.Uint8 {
		e.array(rv)
	} else {
		e.value(rv)
	}
	writeJSON(w, http.StatusOK, e.Bytes())
}

func (s *server) getProperty(w http.ResponseWriter, r *http.Request, this types.ManagedObjectReference, prop, session string) {
	if this.Type == "ServiceInstance" && prop == "content" {
		req := &types.RetrieveServiceContent{This: this}
		res, fault, _, err := s.call(r.Context(), "RetrieveServiceContent", req,
			reflect.TypeOf(types.RetrieveServiceContentResponse{}), session)
		s.respond(w, res, fault, err, func(res reflect.Value) (reflect.Value, bool) {
			return res.Elem().FieldByName("Returnval"), true
		})
		return
	}
	// find the PropertyCollector
	sc, fault, _, err := s.call(r.Context(), "RetrieveServiceContent",
		&types.RetrieveServiceContent{This: types.ManagedObjectReference{Type: "ServiceInstance", Value: "ServiceInstance"}},
		reflect.TypeOf(types.RetrieveServiceContentResponse{}), session)
	if err != nil || fault != nil {
		s.respond(w, sc, fault, err, nil)
		return
	}
	pc := sc.Interface().(*types.RetrieveServiceContentResponse).Returnval.PropertyCollector
	req := &types.RetrievePropertiesEx{
		This: pc,
		SpecSet: []types.PropertyFilterSpec{{
			PropSet:   []types.PropertySpec{{Type: this.Type, PathSet: []string{prop}}},
			ObjectSet: []types.ObjectSpec{{Obj: this}},
		}},
	}
	res, fault, _, err := s.call(r.Context(), "RetrievePropertiesEx", req,
		reflect.TypeOf(types.RetrievePropertiesExResponse{}), session)
	if err == nil && fault == nil {
		rr := res.Interface().(*types.RetrievePropertiesExResponse).Returnval
		if rr != nil {
			for _, oc := range rr.Objects {
				for _, m := range oc.MissingSet {
					fault = &soap.Fault{Code: "ServerFaultCode", String: m.Fault.LocalizedMessage}
					fault.Detail.Fault = m.Fault.Fault
				}
			}
		}
	}
	s.respond(w, res, fault, err, func(res reflect.Value) (reflect.Value, bool) {
		rr := res.Interface().(*types.RetrievePropertiesExResponse).Returnval
		if rr == nil {
			return reflect.Value{}, false
		}
		for _, oc := range rr.Objects {
			for _, dp := range oc.PropSet {
				if dp.Name == prop && dp.Val != nil {
					v := reflect.ValueOf(dp.Val)
					for v.Kind() == reflect.Ptr {
						v = v.Elem()
					}
					// an ArrayOfX property is a plain array
					if isArrayOf(v.Type()) {
						return v.Field(0), true
					}
					return v, true
				}
			}
		}
		return reflect.Value{}, false
	})
}

// ------------------------------------------------------------------ SOAP client

// reqBody marshals as <Body><Method xmlns="urn:vim25">...</Method></Body>.
type reqBody struct {
	method string
	req    interface{}
}

func (b *reqBody) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	if err := e.EncodeElement(b.req, xml.StartElement{Name: xml.Name{Space: "urn:vim25", Local: b.method}}); err != nil {
		return err
	}
	return e.EncodeToken(start.End())
}

// resBody decodes the Body's first element: a soapenv:Fault or the XxxResponse.
type resBody struct {
	resType reflect.Type
	res     reflect.Value
	fault   *soap.Fault
}

func (b *resBody) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "Fault" {
				b.fault = new(soap.Fault)
				if err := d.DecodeElement(b.fault, &t); err != nil {
					return err
				}
				continue
			}
			v := reflect.New(b.resType)
			if err := d.DecodeElement(v.Interface(), &t); err != nil {
				return err
			}
			b.res = v
		case xml.EndElement:
			return nil
		}
	}
}

type envelope struct {
	XMLName xml.Name    `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	Body    interface{} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

// call sends one SOAP request to the target; returns the *XxxResponse (as a
// reflect.Value of a pointer), or the fault, and the session cookie the target set.
func (s *server) call(ctx context.Context, method string, req interface{}, resType reflect.Type, session string) (reflect.Value, *soap.Fault, string, error) {
	b, err := xml.Marshal(envelope{Body: &reqBody{method: method, req: req}})
	if err != nil {
		return reflect.Value{}, nil, "", fmt.Errorf("marshal %s: %w", method, err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, s.target.String(),
		io.MultiReader(strings.NewReader(xml.Header), bytes.NewReader(b)))
	if err != nil {
		return reflect.Value{}, nil, "", err
	}
	hreq.Header.Set("Content-Type", `text/xml; charset="utf-8"`)
	hreq.Header.Set("SOAPAction", "urn:vim25/7.0")
	if session != "" {
		hreq.AddCookie(&http.Cookie{Name: soap.SessionCookieName, Value: session})
	}
	hres, err := s.client.Do(hreq)
	if err != nil {
		return reflect.Value{}, nil, "", fmt.Errorf("%s: %w", method, err)
	}
	defer hres.Body.Close()
	cookie := ""
	for _, c := range hres.Cookies() {
		if c.Name == soap.SessionCookieName {
			cookie = c.Value
		}
	}
	if hres.StatusCode != http.StatusOK && hres.StatusCode != http.StatusInternalServerError {
		msg, _ := ioutil.ReadAll(io.LimitReader(hres.Body, 4096))
		return reflect.Value{}, nil, cookie, fmt.Errorf("%s: simulator answered HTTP %d: %s", method, hres.StatusCode, msg)
	}
	body := &resBody{resType: resType}
	dec := xml.NewDecoder(hres.Body)
	dec.TypeFunc = types.TypeFunc()
	if err := dec.Decode(&envelope{Body: body}); err != nil {
		return reflect.Value{}, nil, cookie, fmt.Errorf("%s: decoding the simulator's answer: %w", method, err)
	}
	if body.fault != nil {
		return reflect.Value{}, body.fault, cookie, nil
	}
	if !body.res.IsValid() {
		return reflect.Value{}, nil, cookie, fmt.Errorf("%s: no %sResponse in the simulator's answer", method, method)
	}
	return body.res, nil, cookie, nil
}

// ------------------------------------------------------------------ codec: shared

var (
	timeType  = reflect.TypeOf(time.Time{})
	morefType = reflect.TypeOf(types.ManagedObjectReference{})
	bytesType = reflect.TypeOf([]byte(nil))
)

// primitive VMOMI names (govmomi vim25/types/json.go), with 0.24's xml Go types
var primitiveNames = map[reflect.Type]string{
	reflect.TypeOf(false):      "boolean",
	reflect.TypeOf(int8(0)):    "byte",
	reflect.TypeOf(uint8(0)):   "byte",
	reflect.TypeOf(int16(0)):   "short",
	reflect.TypeOf(int32(0)):   "int",
	reflect.TypeOf(int64(0)):   "long",
	reflect.TypeOf(float32(0)): "float",
	reflect.TypeOf(float64(0)): "double",
	reflect.TypeOf(""):         "string",
	timeType:                   "dateTime",
	bytesType:                  "binary",
}

var primitiveTypes = map[string]reflect.Type{
	"boolean":  reflect.TypeOf(false),
	"byte":     reflect.TypeOf(int8(0)),
	"short":    reflect.TypeOf(int16(0)),
	"int":      reflect.TypeOf(int32(0)),
	"long":     reflect.TypeOf(int64(0)),
	"float":    reflect.TypeOf(float32(0)),
	"double":   reflect.TypeOf(float64(0)),
	"string":   reflect.TypeOf(""),
	"anyURI":   reflect.TypeOf(""),
	"dateTime": timeType,
	"binary":   bytesType,
}

type fieldInfo struct {
	name      string
	index     []int
	omitempty bool
}

var fieldCache sync.Map // reflect.Type -> []fieldInfo

// fields lists a struct's members by xml tag name, embedded structs flattened
// (encoding/xml and encoding/json both flatten untagged anonymous struct fields).
func fields(t reflect.Type) []fieldInfo {
	if c, ok := fieldCache.Load(t); ok {
		return c.([]fieldInfo)
	}
	var out []fieldInfo
	var walk func(t reflect.Type, index []int)
	walk = func(t reflect.Type, index []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("xml")
			idx := append(append([]int(nil), index...), i)
			if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
				walk(f.Type, idx)
				continue
			}
			if f.PkgPath != "" || f.Name == "XMLName" || tag == "-" {
				continue
			}
			opts := strings.Split(tag, ",")
			name := opts[0]
			if name == "" {
				name = f.Name
			}
			fi := fieldInfo{name: name, index: idx}
			for _, o := range opts[1:] {
				if o == "omitempty" {
					fi.omitempty = true
				}
			}
			out = append(out, fi)
		}
	}
	walk(t, nil)
	fieldCache.Store(t, out)
	return out
}

// isArrayOf: govmomi's boxed arrays, e.g. ArrayOfEvent{Event []BaseEvent}.
func isArrayOf(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && strings.HasPrefix(t.Name(), "ArrayOf") &&
		t.NumField() == 1 && t.Field(0).Type.Kind() == reflect.Slice
}

// ------------------------------------------------------------------ codec: encoder

type encoder struct {
	bytes.Buffer
}

func (e *encoder) str(s string) {
	b, _ := json.Marshal(s)
	e.Write(b)
}

// value encodes v by its own (concrete or declared) type.
func (e *encoder) value(v reflect.Value) {
	if !v.IsValid() {
		e.WriteString("null")
		return
	}
	t := v.Type()
	switch {
	case t == timeType:
		e.str(v.Interface().(time.Time).Format(time.RFC3339Nano))
		return
	case t == morefType:
		ref := v.Interface().(types.ManagedObjectReference)
		e.WriteString(`{"_typeName":"ManagedObjectReference","type":`)
		e.str(ref.Type)
		e.WriteString(`,"value":`)
		e.str(ref.Value)
		e.WriteByte('}')
		return
	}
	switch t.Kind() {
	case reflect.Ptr:
		if v.IsNil() {
			e.WriteString("null")
			return
		}
		e.value(v.Elem())
	case reflect.Interface:
		if v.IsNil() {
			e.WriteString("null")
			return
		}
		e.any(v.Elem())
	case reflect.Struct:
		e.object(v, nil)
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			e.str(base64.StdEncoding.EncodeToString(v.Bytes()))
			return
		}
		e.array(v)
	case reflect.String:
		e.str(v.String())
	case reflect.Bool:
		e.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		e.WriteString(strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		b, err := json.Marshal(v.Interface())
		if err != nil {
			b = []byte("null")
		}
		e.Write(b)
	default:
		e.WriteString("null")
	}
}

func (e *encoder) array(v reflect.Value) {
	e.WriteByte('[')
	for i := 0; i < v.Len(); i++ {
		if i > 0 {
			e.WriteByte(',')
		}
		e.value(v.Index(i))
	}
	e.WriteByte(']')
}

// any encodes the dynamic value of an anyType/Base* interface: data objects as
// themselves (they carry _typeName), everything else boxed {"_typeName","_value"}.
func (e *encoder) any(v reflect.Value) {
	for v.Kind() == reflect.Ptr {
		if v.IsNil() {
			e.WriteString("null")
			return
		}
		v = v.Elem()
	}
	t := v.Type()
	if t.Kind() == reflect.Struct && t != timeType {
		e.object(v, nil)
		return
	}
	name, ok := primitiveNames[t]
	if !ok {
		name = t.Name() // enums: named string types
	}
	e.WriteString(`{"_typeName":`)
	e.str(name)
	e.WriteString(`,"_value":`)
	e.value(v)
	e.WriteByte('}')
}

type member struct {
	name  string
	value string // raw JSON
}

// object writes a data object: _typeName first, then extra members, then fields.
func (e *encoder) object(v reflect.Value, extra []member) {
	t := v.Type()
	if t == timeType || t == morefType {
		e.value(v)
		return
	}
	e.WriteString(`{"_typeName":`)
	e.str(t.Name())
	for _, m := range extra {
		e.WriteByte(',')
		e.str(m.name)
		e.WriteByte(':')
		e.WriteString(m.value)
	}
	if isArrayOf(t) {
		e.WriteString(`,"_value":`)
		e.array(v.Field(0))
		e.WriteByte('}')
		return
	}
	for _, f := range fields(t) {
		fv := v.FieldByIndex(f.index)
		if f.omitempty && isEmpty(fv) {
			continue
		}
		e.WriteByte(',')
		e.str(f.name)
		e.WriteByte(':')
		e.value(fv)
	}
	e.WriteByte('}')
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Ptr:
		return v.IsNil()
	}
	return false
}

// encodeFault: {"_typeName":"<fault>","faultstring":"...", <fault fields>}.
func encodeFault(f *soap.Fault) []byte {
	var e encoder
	fs := mustJSON(f.String)
	v := reflect.ValueOf(f.Detail.Fault)
	for v.IsValid() && v.Kind() == reflect.Ptr {
		if v.IsNil() {
			v = reflect.Value{}
			break
		}
		v = v.Elem()
	}
	if !v.IsValid() || v.Kind() != reflect.Struct {
		return []byte(`{"_typeName":"SystemError","faultstring":` + fs + `,"reason":` + fs + `}`)
	}
	e.object(v, []member{{"faultstring", fs}})
	return e.Bytes()
}

// ------------------------------------------------------------------ codec: decoder

// decodeParams decodes a method's JSON parameter object into the request struct.
func decodeParams(v reflect.Value, body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	var j interface{}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&j); err != nil {
		return badRequest("body is not JSON: %s", err)
	}
	if dec.More() {
		return badRequest("body has more than one JSON value")
	}
	obj, ok := j.(map[string]interface{})
	if !ok {
		return badRequest("body must be a JSON object of the method's parameters")
	}
	if _, ok := obj["_this"]; ok {
		return badRequest(`"_this" must not be in the body (the path gives it)`)
	}
	return decodeStruct(v, obj, v.Type().Name())
}

func decodeStruct(v reflect.Value, obj map[string]interface{}, path string) error {
	t := v.Type()
	if isArrayOf(t) {
		for k := range obj {
			if k != "_typeName" && k != "_value" {
				return badRequest("%s: unexpected member %q in %s (only _value)", path, k, t.Name())
			}
		}
		return decode(v.Field(0), obj["_value"], path+"._value")
	}
	byName := map[string]fieldInfo{}
	for _, f := range fields(t) {
		byName[f.name] = f
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "_typeName" {
			continue
		}
		f, ok := byName[k]
		if !ok {
			return badRequest("%s: unknown member %q of %s", path, k, t.Name())
		}
		if err := decode(v.FieldByIndex(f.index), obj[k], path+"."+k); err != nil {
			return err
		}
	}
	return nil
}

func typeName(j interface{}) (string, bool) {
	obj, ok := j.(map[string]interface{})
	if !ok {
		return "", false
	}
	s, ok := obj["_typeName"].(string)
	return s, ok && s != ""
}

func lookupType(name string) (reflect.Type, bool) {
	if t, ok := primitiveTypes[name]; ok {
		return t, true
	}
	return types.TypeFunc()(name)
}

func decode(v reflect.Value, j interface{}, path string) error {
	if j == nil {
		return nil // null = unset
	}
	t := v.Type()
	switch t {
	case timeType:
		s, ok := j.(string)
		if !ok {
			return badRequest("%s: dateTime must be a string", path)
		}
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return badRequest("%s: bad dateTime %q: %s", path, s, err)
		}
		v.Set(reflect.ValueOf(tm))
		return nil
	case morefType:
		obj, ok := j.(map[string]interface{})
		if !ok {
			return badRequest("%s: ManagedObjectReference must be an object", path)
		}
		ref := types.ManagedObjectReference{}
		for k, x := range obj {
			s, isStr := x.(string)
			switch {
			case k == "_typeName":
			case k == "type" && isStr:
				ref.Type = s
			case k == "value" && isStr:
				ref.Value = s
			default:
				return badRequest("%s: unexpected member %q in ManagedObjectReference", path, k)
			}
		}
		v.Set(reflect.ValueOf(ref))
		return nil
	}
	switch t.Kind() {
	case reflect.Ptr:
		nv := reflect.New(t.Elem())
		if err := decode(nv.Elem(), j, path); err != nil {
			return err
		}
		v.Set(nv)
		return nil
	case reflect.Interface:
		name, ok := typeName(j)
		if !ok {
			return badRequest("%s: a polymorphic value needs \"_typeName\"", path)
		}
		dt, ok := lookupType(name)
		if !ok {
			return badRequest("%s: unknown _typeName %q", path, name)
		}
		nv := reflect.New(dt)
		obj := j.(map[string]interface{})
		switch {
		case dt == morefType || dt == timeType:
			if dt == timeType {
				if err := decode(nv.Elem(), obj["_value"], path+"._value"); err != nil {
					return err
				}
			} else if err := decode(nv.Elem(), j, path); err != nil {
				return err
			}
		case dt.Kind() == reflect.Struct:
			if err := decodeStruct(nv.Elem(), obj, path); err != nil {
				return err
			}
		default:
			for k := range obj {
				if k != "_typeName" && k != "_value" {
					return badRequest("%s: unexpected member %q in a boxed %s", path, k, name)
				}
			}
			if err := decode(nv.Elem(), obj["_value"], path+"._value"); err != nil {
				return err
			}
		}
		switch {
		case nv.Type().Implements(t) && t.NumMethod() > 0:
			v.Set(nv) // Base* interfaces are implemented by pointers
		case nv.Elem().Type().Implements(t):
			v.Set(nv.Elem())
		case nv.Type().Implements(t):
			v.Set(nv)
		default:
			return badRequest("%s: %s is not a %s", path, name, t.Name())
		}
		return nil
	case reflect.Struct:
		obj, ok := j.(map[string]interface{})
		if !ok {
			return badRequest("%s: %s must be an object", path, t.Name())
		}
		return decodeStruct(v, obj, path)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			s, ok := j.(string)
			if !ok {
				return badRequest("%s: binary must be a base64 string", path)
			}
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return badRequest("%s: bad base64: %s", path, err)
			}
			v.SetBytes(b)
			return nil
		}
		arr, ok := j.([]interface{})
		if !ok {
			return badRequest("%s: must be an array", path)
		}
		sl := reflect.MakeSlice(t, len(arr), len(arr))
		for i, x := range arr {
			if err := decode(sl.Index(i), x, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		v.Set(sl)
		return nil
	case reflect.String:
		s, ok := j.(string)
		if !ok {
			return badRequest("%s: must be a string", path)
		}
		v.SetString(s)
		return nil
	case reflect.Bool:
		b, ok := j.(bool)
		if !ok {
			return badRequest("%s: must be a boolean", path)
		}
		v.SetBool(b)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := j.(json.Number)
		if !ok {
			return badRequest("%s: must be a number", path)
		}
		i, err := strconv.ParseInt(string(n), 10, t.Bits())
		if err != nil {
			return badRequest("%s: bad integer %s: %s", path, n, err)
		}
		v.SetInt(i)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := j.(json.Number)
		if !ok {
			return badRequest("%s: must be a number", path)
		}
		i, err := strconv.ParseUint(string(n), 10, t.Bits())
		if err != nil {
			return badRequest("%s: bad integer %s: %s", path, n, err)
		}
		v.SetUint(i)
		return nil
	case reflect.Float32, reflect.Float64:
		n, ok := j.(json.Number)
		if !ok {
			return badRequest("%s: must be a number", path)
		}
		f, err := strconv.ParseFloat(string(n), t.Bits())
		if err != nil {
			return badRequest("%s: bad number %s: %s", path, n, err)
		}
		v.SetFloat(f)
		return nil
	}
	return badRequest("%s: cannot decode into %s", path, t)
}

// ------------------------------------------------------------------ main

func main() {
	target := flag.String("target", "", "the simulator's SOAP URL, e.g. http://127.0.0.1:PORT/sdk")
	listen := flag.String("listen", "127.0.0.1:0", "listen address host:port (port 0 = pick a free port)")
	hello := flag.Bool("hello", true, "serve POST /api/vcenter/system?action=hello (false: 404, a vCenter 8.0.1)")
	releasesFlag := flag.String("releases", "", "comma-separated VI/JSON releases served (default 8.0.1.0,8.0.2.0,8.0.3.0; only 8.0.1.0 with -hello=false)")
	useTLS := flag.Bool("tls", false, "serve https (self-signed localhost certificate) instead of http")
	tlsCert := flag.String("tls-cert", "", "with -tls: serve this PEM certificate (chain) instead of the self-signed one")
	tlsKey := flag.String("tls-key", "", "with -tls-cert: the PEM private key of that certificate")
	stdinEOF := flag.Bool("exit-on-stdin-eof", false, "exit when stdin is closed (the parent died)")
	flag.Parse()

	if *target == "" {
		fatal("-target is required")
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		fatal("-tls-cert and -tls-key go together")
	}
	if *tlsCert != "" && !*useTLS {
		fatal("-tls-cert needs -tls")
	}
	tu, err := url.Parse(*target)
	if err != nil || tu.Host == "" || (tu.Scheme != "http" && tu.Scheme != "https") {
		fatal("bad -target %q", *target)
	}
	releases := []string{"8.0.1.0", "8.0.2.0", "8.0.3.0"}
	if !*hello {
		releases = []string{"8.0.1.0"}
	}
	if *releasesFlag != "" {
		releases = strings.Split(*releasesFlag, ",")
	}
	log.SetOutput(os.Stderr)

	transport := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, // #nosec: test peer, self-signed simulator
	}
	base := &url.URL{Scheme: tu.Scheme, Host: tu.Host}
	proxy := httputil.NewSingleHostReverseProxy(base)
	proxy.Transport = transport
	proxy.ErrorLog = log.New(ioutil.Discard, "", 0)
	proxy.FlushInterval = -1

	s := &server{
		target:   tu,
		client:   &http.Client{Transport: transport}, // no timeout: WaitForUpdatesEx long-polls
		proxy:    proxy,
		hello:    *hello,
		releases: releases,
		stats:    &stats{byMethod: map[string]int{}, bySoapMethod: map[string]int{}},
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/sdk/vim25/", s.serveViJSON)
	mux.HandleFunc("/api/vcenter/system", s.serveHello)
	mux.HandleFunc("/vijson-stats", s.stats.serve)
	mux.HandleFunc("/", s.serveSOAP)

	l, err := net.Listen("tcp", *listen)
	if err != nil {
		fatal("cannot listen on %s: %s", *listen, err)
	}
	srv := httptest.NewUnstartedServer(mux)
	_ = srv.Listener.Close()
	srv.Listener = l
	srv.Config.ErrorLog = log.New(ioutil.Discard, "", 0)
	if *useTLS {
		if *tlsCert != "" {
			// A certificate issued by a test CA: clients verify it against that CA.
			pair, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
			if err != nil {
				fatal("-tls-cert/-tls-key: %s", err)
			}
			srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
		}
		srv.StartTLS()
	} else {
		srv.Start()
	}

	line, _ := json.Marshal(struct {
		URL string `json:"url"`
		PID int    `json:"pid"`
	}{srv.URL + "/sdk", os.Getpid()})
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
	// Close the listener first, without waiting on hanging WaitForUpdatesEx calls.
	_ = srv.Listener.Close()
	done := make(chan struct{})
	go func() {
		srv.CloseClientConnections()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	os.Exit(0)
}
