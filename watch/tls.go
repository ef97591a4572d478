package watch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/klaxonhq/klaxon/escalation"
)

// family is an address family as the watch names it.
type family struct {
	name    string // in dedup keys and labels: ipv4, ipv6
	label   string // in summaries: IPv4, IPv6
	lookup  string // the resolver's network: ip4, ip6
	network string // the dialer's network: tcp4, tcp6
}

func families() [2]family {
	return [2]family{
		{name: "ipv4", label: "IPv4", lookup: "ip4", network: "tcp4"},
		{name: "ipv6", label: "IPv6", lookup: "ip6", network: "tcp6"},
	}
}

// checkTLS checks the certificate on every address of the target's host,
// each address family on its own.
func (r *runner) checkTLS(ctx context.Context, t Target) outcome {
	var (
		out     outcome
		mu      sync.Mutex
		wg      sync.WaitGroup
		total   int
		failed  bool
		hostKey = "expiry/check/tls/" + t.endpoint()
	)
	add := func(a ...escalation.Alert) {
		mu.Lock()
		defer mu.Unlock()
		out.alerts = append(out.alerts, a...)
	}
	for _, fam := range families() {
		addrs, err := r.lookup(ctx, t.Host, fam)
		famKey := hostKey + "/" + fam.name
		labels := map[string]string{"check": "dns", "host": t.Host, "port": strconv.Itoa(t.Port), "family": fam.name}
		if err != nil {
			failed = true
			r.log.Warn("expiry watch: address lookup failed", "host", t.Host, "family", fam.name, "err", err)
			add(firing(famKey, groupTLS(t), severityCheckFailed,
				fmt.Sprintf("Expiry check cannot look up the %s addresses of %s: %v", fam.label, t.Host, err),
				"", t.Host, labels))
			// The family's earlier findings stand: nothing is known about them now.
			continue
		}
		add(resolved(famKey, groupTLS(t), fmt.Sprintf("%s addresses of %s look up again", fam.label, t.Host), t.Host, labels))
		out.scopes = append(out.scopes,
			"expiry/tls/"+t.endpoint()+"/"+fam.name+"/",
			hostKey+"/"+fam.name+"/")
		total += len(addrs)
		for _, addr := range addrs {
			wg.Go(func() {
				alerts, held := r.checkAddress(ctx, t, fam, addr)
				add(alerts...)
				if held != "" {
					mu.Lock()
					out.held = append(out.held, held)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	labels := map[string]string{"check": "dns", "host": t.Host, "port": strconv.Itoa(t.Port)}
	switch {
	case total > 0:
		add(resolved(hostKey, groupTLS(t), fmt.Sprintf("%s has addresses again", t.Host), t.Host, labels))
	case !failed:
		add(firing(hostKey, groupTLS(t), severityCheckFailed,
			fmt.Sprintf("Expiry check finds no IPv4 or IPv6 address for %s", t.Host), "", t.Host, labels))
	}
	return out
}

// lookup returns the host's addresses of one family. A name without
// addresses of the family is an answer (none), not a failure: many hosts
// serve one family only, and a host with none at all is reported as such.
func (r *runner) lookup(ctx context.Context, host string, fam family) ([]netip.Addr, error) {
	if err := r.acquire(ctx); err != nil {
		return nil, err
	}
	defer r.release()
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	addrs, err := r.resolver.LookupNetIP(ctx, fam.lookup, host)
	var dnsErr *net.DNSError
	var addrErr *net.AddrError // Go's answer when the name has addresses of the other family only
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound || errors.As(err, &addrErr) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, a := range addrs {
		a = a.Unmap()
		if a.Is4() == (fam.name == "ipv4") && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out, nil
}

// checkAddress checks the certificate served at one address: the alert on
// the certificate and the resolve of the address's failed check, or, when
// the handshake fails, that failed check alone and the certificate's key
// as held (its earlier finding stands: the address is still in DNS). A
// panic here fails this address's check only: it runs on a goroutine of
// its own, outside run's recover.
func (r *runner) checkAddress(ctx context.Context, t Target, fam family, addr netip.Addr) (out []escalation.Alert, held string) {
	ap := netip.AddrPortFrom(addr, uint16(t.Port))
	where := fmt.Sprintf("%s on %s %s", t.endpoint(), fam.label, addr)
	labels := map[string]string{"host": t.Host, "port": strconv.Itoa(t.Port), "family": fam.name, "address": addr.String()}
	checkKey := "expiry/check/tls/" + t.endpoint() + "/" + fam.name + "/" + addr.String()
	failed := func(err error) ([]escalation.Alert, string) {
		r.log.Warn("expiry watch: TLS check failed", "host", t.Host, "address", ap.String(), "err", err)
		return []escalation.Alert{firing(checkKey, groupTLS(t), severityCheckFailed,
			fmt.Sprintf("Expiry check cannot read the TLS certificate of %s: %v", where, err),
			"", ap.String(), withLabel(labels, "check", "tls"))}, certKey(t, fam.name, addr.String())
	}
	defer func() {
		if v := recover(); v != nil {
			out, held = failed(fmt.Errorf("internal error: %v", v))
		}
	}()
	certs, err := r.handshake(ctx, t.Host, fam.network, ap)
	if err != nil {
		return failed(err)
	}
	return []escalation.Alert{
		resolved(checkKey, groupTLS(t), fmt.Sprintf("TLS certificate of %s can be read again", where), ap.String(), withLabel(labels, "check", "tls")),
		r.certFinding(t, where, ap, certs, withLabel(labels, "check", "certificate")),
	}, ""
}

// certKey is the dedup key of the certificate finding at one address.
func certKey(t Target, family, address string) string {
	return "expiry/tls/" + t.endpoint() + "/" + family + "/" + address
}

// handshake connects to one address and returns the certificates it serves.
func (r *runner) handshake(ctx context.Context, host, network string, ap netip.AddrPort) ([]*x509.Certificate, error) {
	if err := r.acquire(ctx); err != nil {
		return nil, err
	}
	defer r.release()
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	raw, err := r.dialer.DialContext(ctx, network, ap.String())
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer raw.Close()
	conn := tls.Client(raw, &tls.Config{
		ServerName: host,
		// The chain is verified in certFinding, against the watch's clock,
		// so that a certificate that does not verify is still read and
		// reported as what it is rather than as a failed handshake.
		InsecureSkipVerify: true,
	})
	if err := conn.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	certs := conn.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, errors.New("TLS handshake: the server sent no certificate")
	}
	return certs, nil
}

// certFinding judges the certificates one address served: expired, not
// verifying, expiring soon (the leaf or an intermediate, whichever ends
// first), or fine.
func (r *runner) certFinding(t Target, where string, ap netip.AddrPort, certs []*x509.Certificate, labels map[string]string) escalation.Alert {
	key := certKey(t, labels["family"], labels["address"])
	leaf := certs[0]
	details := certDetails(certs)
	if r.now.After(leaf.NotAfter) {
		return firing(key, groupTLS(t), severityCritical,
			fmt.Sprintf("TLS certificate of %s expired on %s", where, when(leaf.NotAfter)),
			details, ap.String(), labels)
	}
	pool := x509.NewCertPool()
	for _, c := range certs[1:] {
		pool.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{
		DNSName:       t.Host,
		Intermediates: pool,
		Roots:         r.roots,
		CurrentTime:   r.now,
	})
	if err != nil {
		return firing(key, groupTLS(t), severityCritical,
			fmt.Sprintf("TLS certificate of %s does not verify: %s", where, verifyProblem(err)),
			details, ap.String(), labels)
	}
	// The root is the client's own trust anchor; the leaf and the
	// intermediates the server sends are what must be renewed in time.
	chain := chains[0]
	if len(chain) > 1 {
		chain = chain[:len(chain)-1]
	}
	first := chain[0]
	for _, c := range chain[1:] {
		if c.NotAfter.Before(first.NotAfter) {
			first = c
		}
	}
	what := "TLS certificate"
	if first != leaf {
		what = fmt.Sprintf("Intermediate certificate %q", first.Subject.String())
	}
	severity, within := expirySeverity(first.NotAfter.Sub(r.now))
	if severity == "" {
		return resolved(key, groupTLS(t),
			fmt.Sprintf("TLS certificate of %s is valid until %s", where, when(first.NotAfter)), ap.String(), labels)
	}
	return firing(key, groupTLS(t), severity,
		fmt.Sprintf("%s of %s expires within %s, on %s", what, where, within, when(first.NotAfter)),
		details, ap.String(), labels)
}

// verifyProblem says why a chain does not verify, without the current
// time some x509 errors carry: a summary that changed every round would
// be a new update each time.
func verifyProblem(err error) string {
	var invalid x509.CertificateInvalidError
	if errors.As(err, &invalid) && invalid.Reason == x509.Expired && invalid.Cert != nil {
		c := invalid.Cert
		return fmt.Sprintf("%q is valid only from %s to %s", c.Subject.String(), when(c.NotBefore), when(c.NotAfter))
	}
	return err.Error()
}

// certDetails describes the certificates served, leaf first.
func certDetails(certs []*x509.Certificate) string {
	var b strings.Builder
	for i, c := range certs {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "subject: %s\nissuer: %s\nserial: %s\nnot before: %s\nnot after: %s\n",
			c.Subject, c.Issuer, c.SerialNumber.Text(16), when(c.NotBefore), when(c.NotAfter))
		if len(c.DNSNames) > 0 {
			fmt.Fprintf(&b, "names: %s\n", strings.Join(c.DNSNames, ", "))
		}
	}
	return b.String()
}

// hostCheckFailed is the firing alert of a host whose check broke.
func hostCheckFailed(t Target, err error) escalation.Alert {
	return firing("expiry/check/tls/"+t.endpoint(), groupTLS(t), severityCheckFailed,
		fmt.Sprintf("Expiry check of %s failed: %v", t.endpoint(), err), "", t.Host,
		map[string]string{"check": "tls", "host": t.Host, "port": strconv.Itoa(t.Port)})
}

func groupTLS(t Target) string { return "expiry/tls/" + t.endpoint() }

// withLabel returns a copy of labels with one more.
func withLabel(labels map[string]string, k, v string) map[string]string {
	out := maps.Clone(labels)
	out[k] = v
	return out
}
