package watch_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/escalation/escalationtest"
	"github.com/klaxonhq/klaxon/watch"
)

// start is "now" for the TLS tests; certificates are cut relative to it.
var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	host = "www.example.com"
	day  = 24 * time.Hour
)

// authority is a test certificate authority.
type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newAuthority(t *testing.T, name string) *authority {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             start.Add(-365 * day),
		NotAfter:              start.Add(10 * 365 * day),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &authority{cert: cert, key: key}
}

func (a *authority) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(a.cert)
	return p
}

// intermediate issues a CA certificate signed by a, valid until notAfter.
func (a *authority) intermediate(t *testing.T, name string, notAfter time.Time) *authority {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             start.Add(-30 * day),
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &authority{cert: cert, key: key}
}

// leaf issues a server certificate for name that expires at notAfter,
// sent with the given intermediates.
func (a *authority) leaf(t *testing.T, name string, notAfter time.Time, chain ...*authority) *tls.Certificate {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    start.Add(-30 * day),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		t.Fatal(err)
	}
	c := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	for _, i := range chain {
		c.Certificate = append(c.Certificate, i.cert.Raw)
	}
	return c
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func serial(t *testing.T) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// server is a TLS endpoint whose certificate can be swapped, or made to
// fail the handshake, between rounds.
type server struct {
	cert   atomic.Pointer[tls.Certificate]
	broken atomic.Bool
}

func (s *server) serve(c *tls.Certificate) { s.cert.Store(c); s.broken.Store(false) }
func (s *server) breakHandshake()          { s.broken.Store(true) }

// startTLS serves s on ln until the test ends.
func startTLS(t *testing.T, ln net.Listener, s *server) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are the point of some tests
	srv.TLS = &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		if s.broken.Load() {
			return nil, errors.New("no certificate today")
		}
		return s.cert.Load(), nil
	}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
}

// serveIPv4 serves c on 127.0.0.1 and returns the server and its port.
func serveIPv4(t *testing.T, c *tls.Certificate) (*server, int) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{}
	s.serve(c)
	startTLS(t, ln, s)
	return s, ln.Addr().(*net.TCPAddr).Port
}

// serveBothFamilies serves v4 on 127.0.0.1 and v6 on ::1, on one port as a
// dual-stack host does. It skips the test on a machine without ::1.
func serveBothFamilies(t *testing.T, v4, v6 *tls.Certificate) (s4, s6 *server, port int) {
	t.Helper()
	probe, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback on this machine: %v", err)
	}
	probe.Close()
	for range 50 {
		l4, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = l4.Addr().(*net.TCPAddr).Port
		l6, err := net.Listen("tcp6", fmt.Sprintf("[::1]:%d", port))
		if err != nil {
			l4.Close() // the port is taken on ::1; try another
			continue
		}
		s4, s6 = &server{}, &server{}
		s4.serve(v4)
		s6.serve(v6)
		startTLS(t, l4, s4)
		startTLS(t, l6, s6)
		return s4, s6, port
	}
	t.Fatal("found no port free on both 127.0.0.1 and ::1")
	return nil, nil, 0
}

// closedPort returns a port on 127.0.0.1 where nothing listens.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// zone is a DNS zone the test controls, per host and family.
type zone struct {
	mu      sync.Mutex
	records map[string][]netip.Addr
	errs    map[string]error
}

func newZone() *zone { return &zone{records: map[string][]netip.Addr{}, errs: map[string]error{}} }

// set makes network ("ip4", "ip6") lookups of name answer addrs; none
// means the name has no such records.
func (z *zone) set(network, name string, addrs ...string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	delete(z.errs, network+" "+name)
	z.records[network+" "+name] = nil
	for _, a := range addrs {
		z.records[network+" "+name] = append(z.records[network+" "+name], netip.MustParseAddr(a))
	}
}

// fail makes network lookups of name fail as a broken resolver does.
func (z *zone) fail(network, name string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.errs[network+" "+name] = &net.DNSError{Err: "server misbehaving", Name: name, Server: "192.0.2.53:53", IsTemporary: true}
}

func (z *zone) LookupNetIP(_ context.Context, network, name string) ([]netip.Addr, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if err := z.errs[network+" "+name]; err != nil {
		return nil, err
	}
	if addrs := z.records[network+" "+name]; len(addrs) > 0 {
		return addrs, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// newChecker builds a checker on a manual clock at start that trusts ca.
func newChecker(t *testing.T, o watch.Options) (*watch.Checker, *escalationtest.Clock) {
	t.Helper()
	clock := escalationtest.NewClock(start)
	if o.Clock == nil {
		o.Clock = clock
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	c, err := watch.NewChecker(o)
	if err != nil {
		t.Fatal(err)
	}
	return c, clock
}

// byKey indexes a round's alerts by dedup key, failing on a key sent twice.
func byKey(t *testing.T, alerts []escalation.Alert) map[string]escalation.Alert {
	t.Helper()
	m := map[string]escalation.Alert{}
	for _, a := range alerts {
		if _, dup := m[a.DedupKey]; dup {
			t.Errorf("alert %s sent twice in one round", a.DedupKey)
		}
		m[a.DedupKey] = a
	}
	return m
}

// firingKeys lists the firing alerts' keys in round order.
func firingKeys(alerts []escalation.Alert) []string {
	var keys []string
	for _, a := range alerts {
		if a.State == escalation.AlertFiring {
			keys = append(keys, a.DedupKey)
		}
	}
	return keys
}

// want fails unless the round has the alert in the state and severity
// given, with a summary containing every fragment; it returns the alert.
func want(t *testing.T, alerts []escalation.Alert, key string, state escalation.AlertState, severity string, fragments ...string) escalation.Alert {
	t.Helper()
	a, ok := byKey(t, alerts)[key]
	if !ok {
		t.Fatalf("no alert %s; got %s", key, describe(alerts))
	}
	if a.State != state || (state == escalation.AlertFiring && a.Severity != severity) {
		t.Errorf("%s: %s %s, want %s %s (%q)", key, a.State, a.Severity, state, severity, a.Summary)
	}
	for _, f := range fragments {
		if !strings.Contains(a.Summary, f) {
			t.Errorf("%s: summary %q does not say %q", key, a.Summary, f)
		}
	}
	return a
}

func describe(alerts []escalation.Alert) string {
	var b strings.Builder
	for _, a := range alerts {
		fmt.Fprintf(&b, "\n  %s %s %s: %s", a.DedupKey, a.State, a.Severity, a.Summary)
	}
	return b.String()
}
