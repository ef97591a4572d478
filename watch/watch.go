// Package watch is Klaxon's expiry watch: the early warning the
// domain-expiry outage asked for. For each configured target it checks the
// TLS certificate served on every IPv4 and every IPv6 address of the host
// (one family can serve an old certificate while the other is fine), and
// the domain's registration through RDAP. Findings become alerts for the
// escalation engine, with severity rising as the date nears; a check that
// cannot run is an alert of its own, never a silent gap.
//
// Dedup keys (ENDPOINT is the host, or host:port when the port is not 443;
// FAMILY is ipv4 or ipv6):
//
//	expiry/tls/ENDPOINT/FAMILY/ADDRESS        the certificate served at an address
//	expiry/domain/DOMAIN                      the domain's registration
//	expiry/check/tls/ENDPOINT                 the host has no addresses at all, or its check broke
//	expiry/check/tls/ENDPOINT/FAMILY          looking up the family's addresses failed
//	expiry/check/tls/ENDPOINT/FAMILY/ADDRESS  connecting or the TLS handshake failed there
//	expiry/check/domain/DOMAIN                the RDAP query failed
//
// Alerts of one host share the group key expiry/tls/ENDPOINT and those of a
// domain expiry/domain/DOMAIN, so a service that groups by the sender's key
// gets one incident per host and one per domain.
package watch

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// Defaults for Options left zero.
const (
	DefaultRDAPBase    = "https://rdap.org"
	DefaultTimeout     = 10 * time.Second
	DefaultConcurrency = 8
	DefaultInterval    = time.Hour
)

// Resolver looks up a host's addresses of one family ("ip4" or "ip6").
// *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Dialer opens a TCP connection ("tcp4" or "tcp6"). *net.Dialer is one.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// HTTPClient sends the RDAP queries. *http.Client is one.
type HTTPClient interface {
	Do(req *http.Request) (*http.Response, error)
}

// Ingester takes a round's alerts; *escalation.Engine is one.
type Ingester interface {
	Ingest(ctx context.Context, integration string, alerts []escalation.Alert) (escalation.IngestResult, error)
}

// Options configure a Checker; every field but Targets has a default.
type Options struct {
	Targets []Target
	// RDAPBase is the RDAP service queried as {RDAPBase}/domain/{domain}:
	// rdap.org redirects to the registry's own server; a registry's base
	// URL (https://rdap.verisign.com/com/v1) works as well.
	RDAPBase   string
	HTTPClient HTTPClient
	Resolver   Resolver
	Dialer     Dialer
	// Roots verify the certificate chains; nil means the system's roots.
	Roots *x509.CertPool
	// Timeout bounds each step on its own: one address lookup, one
	// connection with its handshake, one RDAP query.
	Timeout time.Duration
	// Concurrency bounds the lookups, handshakes and queries in flight.
	Concurrency int
	// Clock says when now is: expiry is measured and chains are verified
	// against it.
	Clock  escalation.Clock
	Logger *slog.Logger
}

// Checker runs the expiry watch over its targets.
type Checker struct {
	jobs        []job
	rdapBase    string
	http        HTTPClient
	resolver    Resolver
	dialer      Dialer
	roots       *x509.CertPool
	timeout     time.Duration
	concurrency int
	clock       escalation.Clock
	log         *slog.Logger

	// mu serialises rounds; firing is what the last delivered round left
	// firing, so that an alert whose subject disappeared (an address that
	// left DNS) is resolved rather than left firing forever.
	mu     sync.Mutex
	firing map[string]escalation.Alert
}

// job is one check of a round: a host's TLS, or a domain's registration.
type job struct {
	tls    *Target
	domain string
}

// outcome is what one job found: alerts with a verdict (firing or
// resolved), and the key prefixes it saw completely, under which a key
// that was firing and got no verdict has disappeared.
type outcome struct {
	alerts []escalation.Alert
	scopes []string
	// held are keys in scope that this round could not judge (the
	// address is in DNS, its handshake failed): their earlier finding
	// stands rather than resolving as gone.
	held []string
}

// NewChecker validates the targets and builds a checker.
func NewChecker(o Options) (*Checker, error) {
	c := &Checker{
		rdapBase:    strings.TrimRight(cmp.Or(o.RDAPBase, DefaultRDAPBase), "/"),
		http:        o.HTTPClient,
		resolver:    o.Resolver,
		dialer:      o.Dialer,
		roots:       o.Roots,
		timeout:     cmp.Or(o.Timeout, DefaultTimeout),
		concurrency: cmp.Or(o.Concurrency, DefaultConcurrency),
		clock:       o.Clock,
		log:         o.Logger,
		firing:      map[string]escalation.Alert{},
	}
	if u, err := url.Parse(c.rdapBase); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("watch: rdap base %q: want an http(s) URL", o.RDAPBase)
	}
	if c.timeout < 0 || c.concurrency < 0 {
		return nil, errors.New("watch: timeout and concurrency must not be negative")
	}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.resolver == nil {
		c.resolver = net.DefaultResolver
	}
	if c.dialer == nil {
		c.dialer = &net.Dialer{}
	}
	if c.clock == nil {
		c.clock = escalation.SystemClock{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	endpoints := map[string]int{}
	domains := map[string]bool{}
	for i, t := range o.Targets {
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("watch: targets[%d]: %w", i, err)
		}
		t = t.normalized()
		if t.Host != "" {
			if j, dup := endpoints[t.endpoint()]; dup {
				return nil, fmt.Errorf("watch: targets[%d]: %s is targets[%d] again", i, t.endpoint(), j)
			}
			endpoints[t.endpoint()] = i
			c.jobs = append(c.jobs, job{tls: &t})
		}
		if t.Domain != "" && !domains[t.Domain] {
			domains[t.Domain] = true
			c.jobs = append(c.jobs, job{domain: t.Domain})
		}
	}
	return c, nil
}

// Check runs one round over every target and returns its alerts: targets
// in config order, each one's alerts by dedup key, then the resolves of
// its alerts whose address left DNS. The checker takes them
// as delivered: an alert whose subject has disappeared is resolved in this
// round only. If ctx ends during the round, Check returns nil: the checks
// it cut short found nothing.
func (c *Checker) Check(ctx context.Context) []escalation.Alert {
	c.mu.Lock()
	defer c.mu.Unlock()
	alerts, next := c.round(ctx)
	if next != nil {
		c.firing = next
	}
	return alerts
}

// Run runs a round at once and then one every interval (zero: an hour),
// and hands each round's alerts to the integration, until ctx ends. A round
// the ingester refuses is not taken as delivered: the next round sends
// again what it still needs. Run blocks: the server starts it on a
// goroutine of its own, so that startup never waits on the network.
func (c *Checker) Run(ctx context.Context, ing Ingester, integration string, every time.Duration) {
	if every <= 0 {
		every = DefaultInterval
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		c.deliver(ctx, ing, integration)
		timer.Reset(every)
	}
}

// deliver runs one round and ingests it.
func (c *Checker) deliver(ctx context.Context, ing Ingester, integration string) {
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("panic in expiry watch round", "panic", fmt.Sprint(v))
		}
	}()
	c.mu.Lock()
	defer c.mu.Unlock()
	alerts, next := c.round(ctx)
	if next == nil {
		return
	}
	if len(alerts) > 0 {
		res, err := ing.Ingest(ctx, integration, alerts)
		if err != nil {
			c.log.Error("expiry watch: ingest failed; the next round sends again", "integration", integration, "err", err)
			return
		}
		c.log.Debug("expiry watch round", "alerts", len(alerts), "firing", len(next),
			"created", res.Created, "reopened", res.Reopened, "updated", res.Updated)
	}
	c.firing = next
}

// round runs every job and returns the alerts and what would be firing
// once they are delivered; nil when ctx ended during the round.
func (c *Checker) round(ctx context.Context) ([]escalation.Alert, map[string]escalation.Alert) {
	now := c.clock.Now()
	r := &runner{Checker: c, now: now, slots: make(chan struct{}, c.concurrency)}
	outs := make([]outcome, len(c.jobs))
	var wg sync.WaitGroup
	for i, j := range c.jobs {
		wg.Go(func() { outs[i] = r.run(ctx, j) })
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, nil
	}
	next := maps.Clone(c.firing)
	alerts := []escalation.Alert{}
	for _, o := range outs {
		slices.SortFunc(o.alerts, func(a, b escalation.Alert) int { return cmp.Compare(a.DedupKey, b.DedupKey) })
		seen := map[string]bool{}
		for _, a := range o.alerts {
			seen[a.DedupKey] = true
			if a.State == escalation.AlertFiring {
				next[a.DedupKey] = a
			} else {
				delete(next, a.DedupKey)
			}
		}
		var gone []escalation.Alert
		for key, a := range c.firing {
			if !seen[key] && !slices.Contains(o.held, key) && slices.ContainsFunc(o.scopes, func(p string) bool { return strings.HasPrefix(key, p) }) {
				a.State = escalation.AlertResolved
				a.Summary = gonePrefix + a.Summary
				gone = append(gone, a)
				delete(next, key)
			}
		}
		slices.SortFunc(gone, func(a, b escalation.Alert) int { return cmp.Compare(a.DedupKey, b.DedupKey) })
		alerts = append(alerts, o.alerts...)
		alerts = append(alerts, gone...)
	}
	return alerts, next
}

// gonePrefix marks the resolve of an alert whose address left DNS.
const gonePrefix = "No longer in DNS: "

// runner is one round: its instant and its bound on work in flight.
type runner struct {
	*Checker
	now   time.Time
	slots chan struct{}
}

// acquire takes a slot for one network step; release gives it back.
func (r *runner) acquire(ctx context.Context) error {
	select {
	case r.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *runner) release() { <-r.slots }

// run runs one job. A panic in it is reported as that job's failed check,
// so one bad answer cannot hold back the other targets.
func (r *runner) run(ctx context.Context, j job) (out outcome) {
	defer func() {
		if v := recover(); v != nil {
			r.log.Error("panic in expiry check", "host", hostOf(j), "domain", j.domain, "panic", fmt.Sprint(v))
			out = outcome{alerts: []escalation.Alert{jobFailed(j, fmt.Errorf("internal error: %v", v))}}
		}
	}()
	if j.tls != nil {
		return r.checkTLS(ctx, *j.tls)
	}
	return r.checkDomain(ctx, j.domain)
}

func hostOf(j job) string {
	if j.tls == nil {
		return ""
	}
	return j.tls.endpoint()
}

// jobFailed is the firing alert of a job that could not run at all.
func jobFailed(j job, err error) escalation.Alert {
	if j.tls != nil {
		return hostCheckFailed(*j.tls, err)
	}
	return domainCheckFailed(j.domain, err)
}
