package watch_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/watch"
)

func certKey(port int, family, addr string) string {
	return fmt.Sprintf("expiry/tls/%s:%d/%s/%s", host, port, family, addr)
}

func checkKey(port int, rest ...string) string {
	return strings.Join(append([]string{fmt.Sprintf("expiry/check/tls/%s:%d", host, port)}, rest...), "/")
}

// ipv4Host is a host served on 127.0.0.1 only, checked on a clock at start.
func ipv4Host(t *testing.T, ca *authority, cert time.Time) (*watch.Checker, *server, int) {
	t.Helper()
	srv, port := serveIPv4(t, ca.leaf(t, host, cert))
	dns := newZone()
	dns.set("ip4", host, "127.0.0.1")
	c, _ := newChecker(t, watch.Options{
		Targets:  []watch.Target{{Host: host, Port: port}},
		Resolver: dns,
		Roots:    ca.pool(),
	})
	return c, srv, port
}

func TestSeverityRisesAsTheCertificateExpiryNears(t *testing.T) {
	ca := newAuthority(t, "Klaxon Test CA")
	for _, tt := range []struct {
		name     string
		left     time.Duration
		state    escalation.AlertState
		severity string
		says     string
	}{
		{"valid for a year", 365 * day, escalation.AlertResolved, "", "is valid until 2027-03-01 12:00 UTC"},
		{"a second over 30 days", 30*day + time.Second, escalation.AlertResolved, "", "is valid until"},
		{"30 days", 30 * day, escalation.AlertFiring, "info", "expires within 30 days, on 2026-03-31 12:00 UTC"},
		{"20 days", 20 * day, escalation.AlertFiring, "info", "expires within 30 days"},
		{"14 days", 14 * day, escalation.AlertFiring, "warning", "expires within 14 days"},
		{"10 days", 10 * day, escalation.AlertFiring, "warning", "expires within 14 days, on 2026-03-11 12:00 UTC"},
		{"7 days", 7 * day, escalation.AlertFiring, "error", "expires within 7 days"},
		{"5 days", 5 * day, escalation.AlertFiring, "error", "expires within 7 days"},
		{"24 hours", day, escalation.AlertFiring, "critical", "expires within 1 day"},
		{"20 hours", 20 * time.Hour, escalation.AlertFiring, "critical", "expires within 1 day, on 2026-03-02 08:00 UTC"},
		{"expired an hour ago", -time.Hour, escalation.AlertFiring, "critical", "expired on 2026-03-01 11:00 UTC"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, _, port := ipv4Host(t, ca, start.Add(tt.left))
			alerts := c.Check(t.Context())
			a := want(t, alerts, certKey(port, "ipv4", "127.0.0.1"), tt.state, tt.severity,
				"TLS certificate of "+host+":"+strconv.Itoa(port)+" on IPv4 127.0.0.1", tt.says)
			want(t, alerts, checkKey(port, "ipv4", "127.0.0.1"), escalation.AlertResolved, "")
			if a.GroupKey != "expiry/tls/"+host+":"+strconv.Itoa(port) || a.Labels["family"] != "ipv4" || a.Labels["address"] != "127.0.0.1" {
				t.Errorf("group %q labels %v", a.GroupKey, a.Labels)
			}
			if got := firingKeys(alerts); tt.state == escalation.AlertResolved && len(got) > 0 {
				t.Errorf("a healthy host fires %v", got)
			}
		})
	}
}

func TestIPv6ServesAnOldCertificateWhileIPv4IsFresh(t *testing.T) {
	ca := newAuthority(t, "Klaxon Test CA")
	_, _, port := serveBothFamilies(t, ca.leaf(t, host, start.Add(365*day)), ca.leaf(t, host, start.Add(20*time.Hour)))
	dns := newZone()
	dns.set("ip4", host, "127.0.0.1")
	dns.set("ip6", host, "::1")
	c, _ := newChecker(t, watch.Options{Targets: []watch.Target{{Host: host, Port: port}}, Resolver: dns, Roots: ca.pool()})

	alerts := c.Check(t.Context())

	if got, wantKeys := firingKeys(alerts), []string{certKey(port, "ipv6", "::1")}; !slices.Equal(got, wantKeys) {
		t.Fatalf("firing %v, want only the IPv6 address; round:%s", got, describe(alerts))
	}
	want(t, alerts, certKey(port, "ipv6", "::1"), escalation.AlertFiring, "critical", "on IPv6 ::1", "expires within 1 day, on 2026-03-02 08:00 UTC")
	want(t, alerts, certKey(port, "ipv4", "127.0.0.1"), escalation.AlertResolved, "", "valid until 2027-03-01")
}

func TestAddressesOfOneHostShareAnIncidentButNotADedupKey(t *testing.T) {
	ca := newAuthority(t, "Klaxon Test CA")
	_, _, port := serveBothFamilies(t, ca.leaf(t, host, start.Add(10*day)), ca.leaf(t, host, start.Add(10*day)))
	dns := newZone()
	dns.set("ip4", host, "127.0.0.1")
	dns.set("ip6", host, "::1")
	// The target names no port: the dialer stands in for port 443.
	c, _ := newChecker(t, watch.Options{
		Targets:  []watch.Target{{Host: "WWW.Example.com."}},
		Resolver: dns,
		Dialer:   redirect{from: "443", to: strconv.Itoa(port)},
		Roots:    ca.pool(),
	})

	alerts := c.Check(t.Context())

	v4 := want(t, alerts, "expiry/tls/www.example.com/ipv4/127.0.0.1", escalation.AlertFiring, "warning", "www.example.com on IPv4 127.0.0.1")
	v6 := want(t, alerts, "expiry/tls/www.example.com/ipv6/::1", escalation.AlertFiring, "warning", "www.example.com on IPv6 ::1")
	if v4.GroupKey != "expiry/tls/www.example.com" || v6.GroupKey != v4.GroupKey {
		t.Errorf("group keys %q and %q, want one incident for the host", v4.GroupKey, v6.GroupKey)
	}
	if !strings.Contains(v6.Details, "not after: 2026-03-11 12:00 UTC") || !strings.Contains(v6.Details, "issuer: CN=Klaxon Test CA") {
		t.Errorf("details do not describe the certificate:\n%s", v6.Details)
	}
}

// redirect dials another port in place of one, as a port-forward would.
type redirect struct{ from, to string }

func (r redirect) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	h, p, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	if p == r.from {
		p = r.to
	}
	var d net.Dialer
	return d.DialContext(ctx, network, net.JoinHostPort(h, p))
}

func TestCertificateThatDoesNotVerifyIsAFinding(t *testing.T) {
	ca := newAuthority(t, "Klaxon Test CA")
	stranger := newAuthority(t, "Someone Else's CA")
	for _, tt := range []struct {
		name     string
		issuer   *authority
		issuedTo string
		says     string
	}{
		{"signed by an unknown authority", stranger, host, "unknown authority"},
		{"issued for another name", ca, "shop.example.net", "not " + host},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, port := serveIPv4(t, tt.issuer.leaf(t, tt.issuedTo, start.Add(365*day)))
			dns := newZone()
			dns.set("ip4", host, "127.0.0.1")
			c, _ := newChecker(t, watch.Options{Targets: []watch.Target{{Host: host, Port: port}}, Resolver: dns, Roots: ca.pool()})

			alerts := c.Check(t.Context())

			want(t, alerts, certKey(port, "ipv4", "127.0.0.1"), escalation.AlertFiring, "critical", "does not verify", tt.says)
			want(t, alerts, checkKey(port, "ipv4", "127.0.0.1"), escalation.AlertResolved, "")
		})
	}
}

func TestIntermediateExpiringBeforeTheLeafIsReported(t *testing.T) {
	root := newAuthority(t, "Klaxon Test Root")
	issuing := root.intermediate(t, "Klaxon Issuing CA 2", start.Add(5*day))
	_, port := serveIPv4(t, issuing.leaf(t, host, start.Add(200*day), issuing))
	dns := newZone()
	dns.set("ip4", host, "127.0.0.1")
	c, _ := newChecker(t, watch.Options{Targets: []watch.Target{{Host: host, Port: port}}, Resolver: dns, Roots: root.pool()})

	alerts := c.Check(t.Context())

	want(t, alerts, certKey(port, "ipv4", "127.0.0.1"), escalation.AlertFiring, "error",
		`Intermediate certificate "CN=Klaxon Issuing CA 2"`, "expires within 7 days, on 2026-03-06 12:00 UTC")
}

func TestRenewedCertificateResolvesTheAlert(t *testing.T) {
	ca := newAuthority(t, "Klaxon Test CA")
	c, srv, port := ipv4Host(t, ca, start.Add(10*day))
	key := certKey(port, "ipv4", "127.0.0.1")
	want(t, c.Check(t.Context()), key, escalation.AlertFiring, "warning")

	srv.serve(ca.leaf(t, host, start.Add(90*day)))

	want(t, c.Check(t.Context()), key, escalation.AlertResolved, "", "valid until 2026-05-30 12:00 UTC")
}

func TestSeverityRisesDayByDayWithoutDailyUpdates(t *testing.T) {
	ca := newAuthority(t, "Klaxon Test CA")
	_, port := serveIPv4(t, ca.leaf(t, host, start.Add(10*day)))
	dns := newZone()
	dns.set("ip4", host, "127.0.0.1")
	c, clock := newChecker(t, watch.Options{Targets: []watch.Target{{Host: host, Port: port}}, Resolver: dns, Roots: ca.pool()})
	key := certKey(port, "ipv4", "127.0.0.1")

	first := want(t, c.Check(t.Context()), key, escalation.AlertFiring, "warning")
	clock.Advance(day)
	if next := want(t, c.Check(t.Context()), key, escalation.AlertFiring, "warning"); next.Summary != first.Summary || next.Details != first.Details {
		t.Errorf("a day later within the same band the alert changed: %q → %q", first.Summary, next.Summary)
	}
	clock.Advance(2*day + time.Hour) // 6 days 23 hours left
	want(t, c.Check(t.Context()), key, escalation.AlertFiring, "error", "within 7 days")
	clock.Advance(6 * day)
	want(t, c.Check(t.Context()), key, escalation.AlertFiring, "critical", "within 1 day")
	clock.Advance(day)
	want(t, c.Check(t.Context()), key, escalation.AlertFiring, "critical", "expired on 2026-03-11 12:00 UTC")
}

func TestHandshakeFailureIsAFailedCheckUntilItRecovers(t *testing.T) {
	ca := newAuthority(t, "Klaxon Test CA")
	c, srv, port := ipv4Host(t, ca, start.Add(10*day))
	srv.breakHandshake()

	alerts := c.Check(t.Context())
	want(t, alerts, checkKey(port, "ipv4", "127.0.0.1"), escalation.AlertFiring, "warning",
		"Expiry check cannot read the TLS certificate of "+host+":"+strconv.Itoa(port)+" on IPv4 127.0.0.1", "TLS handshake")
	if _, ok := byKey(t, alerts)[certKey(port, "ipv4", "127.0.0.1")]; ok {
		t.Errorf("a certificate that was never read got a verdict:%s", describe(alerts))
	}

	srv.serve(ca.leaf(t, host, start.Add(10*day)))

	alerts = c.Check(t.Context())
	want(t, alerts, checkKey(port, "ipv4", "127.0.0.1"), escalation.AlertResolved, "", "can be read again")
	want(t, alerts, certKey(port, "ipv4", "127.0.0.1"), escalation.AlertFiring, "warning")
}

// The certificate expires in three days and its alert fires. The next
// round the handshake fails at that address, still in DNS: the check's
// failure fires, and the certificate's alert stands, not resolved as if
// the address had left DNS.
func TestAFailedHandshakeLeavesTheCertificatesAlertFiring(t *testing.T) {
	ca := newAuthority(t, "Klaxon Test CA")
	c, srv, port := ipv4Host(t, ca, start.Add(3*day))
	want(t, c.Check(t.Context()), certKey(port, "ipv4", "127.0.0.1"), escalation.AlertFiring, "error")
	srv.breakHandshake()
	alerts := c.Check(t.Context())
	want(t, alerts, checkKey(port, "ipv4", "127.0.0.1"), escalation.AlertFiring, "warning", "TLS handshake")
	if a, ok := byKey(t, alerts)[certKey(port, "ipv4", "127.0.0.1")]; ok {
		t.Errorf("the certificate's alert changed on a failed handshake: %s %q", a.State, a.Summary)
	}
}

func TestConnectionRefusedIsAFailedCheck(t *testing.T) {
	port := closedPort(t)
	dns := newZone()
	dns.set("ip4", host, "127.0.0.1")
	c, _ := newChecker(t, watch.Options{Targets: []watch.Target{{Host: host, Port: port}}, Resolver: dns})

	alerts := c.Check(t.Context())

	want(t, alerts, checkKey(port, "ipv4", "127.0.0.1"), escalation.AlertFiring, "warning", "connect:", "refused")
	if got := firingKeys(alerts); len(got) != 1 {
		t.Errorf("firing %v, want the failed check only", got)
	}
}

func TestServerThatNeverAnswersTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		// Accept and say nothing, as a black-holed load balancer does.
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, conn)
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	dns := newZone()
	dns.set("ip4", host, "127.0.0.1")
	c, _ := newChecker(t, watch.Options{Targets: []watch.Target{{Host: host, Port: port}}, Resolver: dns, Timeout: 100 * time.Millisecond})

	alerts := c.Check(t.Context())

	want(t, alerts, checkKey(port, "ipv4", "127.0.0.1"), escalation.AlertFiring, "warning", "TLS handshake", "deadline exceeded")
}

func TestHostWithoutAnyAddressIsAFailedCheck(t *testing.T) {
	c, _ := newChecker(t, watch.Options{Targets: []watch.Target{{Host: host, Port: 8443}}, Resolver: newZone()})

	alerts := c.Check(t.Context())

	want(t, alerts, "expiry/check/tls/www.example.com:8443", escalation.AlertFiring, "warning", "no IPv4 or IPv6 address for "+host)
	want(t, alerts, "expiry/check/tls/www.example.com:8443/ipv4", escalation.AlertResolved, "")
	want(t, alerts, "expiry/check/tls/www.example.com:8443/ipv6", escalation.AlertResolved, "")
}

func TestFailedLookupOfOneFamilyLeavesItsFindingsStanding(t *testing.T) {
	ca := newAuthority(t, "Klaxon Test CA")
	_, port := serveIPv4(t, ca.leaf(t, host, start.Add(10*day)))
	dns := newZone()
	dns.set("ip4", host, "127.0.0.1")
	c, _ := newChecker(t, watch.Options{Targets: []watch.Target{{Host: host, Port: port}}, Resolver: dns, Roots: ca.pool()})
	want(t, c.Check(t.Context()), certKey(port, "ipv4", "127.0.0.1"), escalation.AlertFiring, "warning")

	dns.fail("ip4", host)

	alerts := c.Check(t.Context())
	want(t, alerts, checkKey(port, "ipv4"), escalation.AlertFiring, "warning", "cannot look up the IPv4 addresses of "+host, "server misbehaving")
	if a, ok := byKey(t, alerts)[certKey(port, "ipv4", "127.0.0.1")]; ok {
		t.Errorf("the IPv4 certificate finding got a verdict while IPv4 could not be looked up: %s %q", a.State, a.Summary)
	}
	if _, ok := byKey(t, alerts)[checkKey(port)]; ok {
		t.Errorf("the host is called address-less although IPv4 is unknown:%s", describe(alerts))
	}

	dns.set("ip4", host, "127.0.0.1")

	alerts = c.Check(t.Context())
	want(t, alerts, checkKey(port, "ipv4"), escalation.AlertResolved, "")
	want(t, alerts, certKey(port, "ipv4", "127.0.0.1"), escalation.AlertFiring, "warning")
}

func TestAddressThatLeavesDNSHasItsAlertsResolved(t *testing.T) {
	ca := newAuthority(t, "Klaxon Test CA")
	_, port := serveIPv4(t, ca.leaf(t, host, start.Add(10*day)))
	dns := newZone()
	dns.set("ip4", host, "127.0.0.1", "127.0.0.2")
	c, _ := newChecker(t, watch.Options{Targets: []watch.Target{{Host: host, Port: port}}, Resolver: dns, Roots: ca.pool(),
		Dialer: refusing{"127.0.0.2"}})
	alerts := c.Check(t.Context())
	want(t, alerts, certKey(port, "ipv4", "127.0.0.1"), escalation.AlertFiring, "warning")
	want(t, alerts, checkKey(port, "ipv4", "127.0.0.2"), escalation.AlertFiring, "warning", "refused")

	dns.set("ip4", host) // the host moved to a provider serving IPv6 only, say

	alerts = c.Check(t.Context())
	want(t, alerts, certKey(port, "ipv4", "127.0.0.1"), escalation.AlertResolved, "", "No longer in DNS: TLS certificate of")
	want(t, alerts, checkKey(port, "ipv4", "127.0.0.2"), escalation.AlertResolved, "", "No longer in DNS")
	want(t, alerts, checkKey(port), escalation.AlertFiring, "warning", "no IPv4 or IPv6 address")

	// Resolved once; the watch does not repeat it for ever.
	alerts = c.Check(t.Context())
	if _, ok := byKey(t, alerts)[certKey(port, "ipv4", "127.0.0.1")]; ok {
		t.Errorf("the departed address is still reported:%s", describe(alerts))
	}
}

// refusing dials as usual except to the addresses given, which refuse.
type refusing []string

func (r refusing) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	h, _, _ := net.SplitHostPort(address)
	if slices.Contains(r, h) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("connect: connection refused")}
	}
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

func TestRoundsListTargetsInConfigOrder(t *testing.T) {
	ca := newAuthority(t, "Klaxon Test CA")
	_, portA := serveIPv4(t, ca.leaf(t, "b.example.com", start.Add(3*day)))
	_, portB := serveIPv4(t, ca.leaf(t, "a.example.com", start.Add(3*day)))
	dns := newZone()
	dns.set("ip4", "b.example.com", "127.0.0.1")
	dns.set("ip4", "a.example.com", "127.0.0.1")
	c, _ := newChecker(t, watch.Options{
		Targets: []watch.Target{
			{Host: "b.example.com", Port: portA},
			{Host: "a.example.com", Port: portB},
		},
		Resolver:    dns,
		Roots:       ca.pool(),
		Concurrency: 1,
	})

	first := c.Check(t.Context())
	wantOrder := []string{
		fmt.Sprintf("expiry/check/tls/b.example.com:%d", portA),
		fmt.Sprintf("expiry/check/tls/b.example.com:%d/ipv4", portA),
		fmt.Sprintf("expiry/check/tls/b.example.com:%d/ipv4/127.0.0.1", portA),
		fmt.Sprintf("expiry/check/tls/b.example.com:%d/ipv6", portA),
		fmt.Sprintf("expiry/tls/b.example.com:%d/ipv4/127.0.0.1", portA),
		fmt.Sprintf("expiry/check/tls/a.example.com:%d", portB),
		fmt.Sprintf("expiry/check/tls/a.example.com:%d/ipv4", portB),
		fmt.Sprintf("expiry/check/tls/a.example.com:%d/ipv4/127.0.0.1", portB),
		fmt.Sprintf("expiry/check/tls/a.example.com:%d/ipv6", portB),
		fmt.Sprintf("expiry/tls/a.example.com:%d/ipv4/127.0.0.1", portB),
	}
	var got []string
	for _, a := range first {
		got = append(got, a.DedupKey)
	}
	if !slices.Equal(got, wantOrder) {
		t.Fatalf("round order:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantOrder, "\n"))
	}
	for range 3 {
		again := c.Check(t.Context())
		if !slices.EqualFunc(first, again, func(a, b escalation.Alert) bool { return a.DedupKey == b.DedupKey && a.Summary == b.Summary }) {
			t.Fatalf("another round differs:%s", describe(again))
		}
	}
}

func TestRoundCutShortByShutdownReportsNothing(t *testing.T) {
	port := closedPort(t)
	dns := newZone()
	dns.set("ip4", host, "127.0.0.1")
	c, _ := newChecker(t, watch.Options{Targets: []watch.Target{{Host: host, Port: port}}, Resolver: dns})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	if alerts := c.Check(ctx); alerts != nil {
		t.Errorf("a cancelled round reported:%s", describe(alerts))
	}
}
