package scenario

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/watch"
)

// expiryTeam is the team with the expiry watch's integration on web.
var expiryTeam = team + `
watch:
  service: web
  targets: [{host: shop.acme.example, domain: acme.example}]
`

type fixedResolver map[string][]netip.Addr

func (r fixedResolver) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, a := range r[host] {
		if network == "ip" || (network == "ip4") == a.Is4() {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return out, nil
}

// shopTLS serves shop.acme.example on 127.0.0.1 with a certificate from a
// test CA that is valid until notAfter.
func shopTLS(t *testing.T, notAfter time.Time) (port int, roots *x509.CertPool) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Scenario CA"},
		NotBefore: notAfter.AddDate(-1, 0, 0), NotAfter: notAfter.AddDate(1, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "shop.acme.example"},
		DNSNames: []string{"shop.acme.example"}, NotBefore: notAfter.AddDate(0, -3, 0), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ = strconv.Atoi(p)
	roots = x509.NewCertPool()
	roots.AddCert(caCert)
	return port, roots
}

// The domain-expiry outage, prevented: weeks before the date the domain's
// registration and the shop's certificate open low-priority incidents;
// as the dates near, their priority rises and the louder policy pages.
func TestOutageDomainExpiryIsCaughtWeeksBefore(t *testing.T) {
	h := newHarness(t, expiryTeam, "2026-03-02T09:00:00Z")
	domainExpires := mustTime(t, "2026-03-12T09:00:00Z") // in 10 days
	rdap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/domain/acme.example" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/rdap+json")
		fmt.Fprintf(w, `{"objectClassName": "domain", "ldhName": "ACME.EXAMPLE", "events": [
			{"eventAction": "registration", "eventDate": "2016-03-12T09:00:00Z"},
			{"eventAction": "expiration", "eventDate": %q}]}`, domainExpires.Format(time.RFC3339))
	}))
	defer rdap.Close()
	port, roots := shopTLS(t, mustTime(t, "2026-03-22T09:00:00Z")) // certificate: 20 days

	chk, err := watch.NewChecker(watch.Options{
		Targets:  []watch.Target{{Host: "shop.acme.example", Port: port, Domain: "acme.example"}},
		RDAPBase: rdap.URL, Resolver: fixedResolver{"shop.acme.example": {netip.MustParseAddr("127.0.0.1")}},
		Roots: roots, Clock: h.clock, Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func() {
		t.Helper()
		if _, err := h.eng.Ingest(t.Context(), config.WatchIntegration, chk.Check(t.Context())); err != nil {
			t.Fatal(err)
		}
		h.runDue()
	}
	check()
	cert, _ := h.Incident(1)
	domain, _ := h.Incident(2)
	if domain.Priority != escalation.P3 || cert.Priority != escalation.P3 {
		t.Fatalf("weeks before: domain %s %q, certificate %s %q", domain.Priority, domain.Title, cert.Priority, cert.Title)
	}
	h.ok(h.eng.Acknowledge(t.Context(), 1, byBikram))
	h.ok(h.eng.Acknowledge(t.Context(), 2, byBikram))
	h.seen = len(h.pages())

	// Nine days on, the domain expires tomorrow: critical, P0, the urgent
	// policy; the certificate, at eleven days, is still only a warning.
	h.clock.Set(mustTime(t, "2026-03-11T09:30:00Z"))
	check()
	domain, _ = h.Incident(2)
	if domain.Priority != escalation.P0 || domain.Policy != "urgent" {
		t.Fatalf("a day before: domain %s on %s", domain.Priority, domain.Policy)
	}
	cert, _ = h.Incident(1)
	if cert.Priority != escalation.P3 {
		t.Fatalf("certificate at eleven days: %s", cert.Priority)
	}
	if _, _, err := h.eng.Incident(t.Context(), 3); err == nil {
		t.Fatal("the watch opened a third incident")
	}
}
