package watch

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Target is one thing the expiry watch checks: the TLS certificate served
// for Host on Port, the registration of Domain, or both.
type Target struct {
	// Host is the name whose certificate is checked on each of its IPv4
	// and IPv6 addresses; the handshake sends it as SNI and the chain is
	// verified for it. Empty: no TLS check.
	Host string
	// Port is where TLS is served; 0 means 443.
	Port int
	// Domain is the registrable domain whose registration is checked
	// through RDAP: example.co.uk for www.example.co.uk. It is never
	// derived from Host: without the public suffix list a guess asks the
	// registry about the wrong object (co.uk, or a subdomain it does not
	// know), so it is named explicitly. Empty: no registration check.
	// Targets naming the same domain share one query.
	Domain string
}

// DefaultPort is where a target's TLS is checked when it names no port.
const DefaultPort = 443

// normalized lowercases the names, drops a trailing root dot and fills in
// the default port, so that dedup keys do not depend on how config spells
// a name.
func (t Target) normalized() Target {
	t.Host = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(t.Host)), ".")
	t.Domain = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(t.Domain)), ".")
	if t.Host != "" && t.Port == 0 {
		t.Port = DefaultPort
	}
	return t
}

// Validate reports what is wrong with a target, if anything.
func (t Target) Validate() error {
	port := t.Port
	t = t.normalized()
	if t.Host == "" && t.Domain == "" {
		return errors.New("a target needs a host, a domain or both")
	}
	if t.Host == "" && port != 0 {
		return fmt.Errorf("port %d without a host", port)
	}
	if t.Host != "" {
		if _, err := netip.ParseAddr(t.Host); err == nil {
			return fmt.Errorf("host %q is an address: name the host, and the watch looks up its IPv4 and IPv6 addresses", t.Host)
		}
		if err := checkName(t.Host); err != nil {
			return fmt.Errorf("host: %w", err)
		}
		if t.Port < 1 || t.Port > 65535 {
			return fmt.Errorf("port %d: want 1-65535", t.Port)
		}
	}
	if t.Domain != "" {
		if err := checkName(t.Domain); err != nil {
			return fmt.Errorf("domain: %w", err)
		}
		if !strings.Contains(t.Domain, ".") {
			return fmt.Errorf("domain %q: want a registrable domain such as example.com", t.Domain)
		}
	}
	return nil
}

// checkName accepts a DNS name of letters, digits, hyphens and
// underscores; internationalised names are written as A-labels
// (xn--...), the form registries and certificates use.
func checkName(name string) error {
	if len(name) > 253 {
		return fmt.Errorf("%q: longer than 253 characters", name)
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("%q: want dot-separated labels of 1-63 characters", name)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("%q: a label starts or ends with a hyphen", name)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return fmt.Errorf("%q: want letters, digits and hyphens (internationalised names as xn-- A-labels)", name)
			}
		}
	}
	return nil
}

// endpoint names the TLS endpoint in dedup keys and summaries: the host,
// with the port when it is not 443.
func (t Target) endpoint() string {
	if t.Port == DefaultPort {
		return t.Host
	}
	return t.Host + ":" + strconv.Itoa(t.Port)
}
