package watch_test

import (
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon/watch"
)

func TestTargetsThatCannotBeChecked(t *testing.T) {
	for _, tt := range []struct {
		target watch.Target
		says   string
	}{
		{watch.Target{}, "needs a host, a domain or both"},
		{watch.Target{Port: 8443, Domain: "example.com"}, "port 8443 without a host"},
		{watch.Target{Host: "192.0.2.1"}, "is an address"},
		{watch.Target{Host: "2001:db8::1"}, "is an address"},
		{watch.Target{Host: "https://www.example.com"}, "want letters, digits and hyphens"},
		{watch.Target{Host: "www..example.com"}, "labels of 1-63"},
		{watch.Target{Host: "-www.example.com"}, "hyphen"},
		{watch.Target{Host: "www.example.com", Port: 70000}, "port 70000"},
		{watch.Target{Host: "www.example.com", Port: -1}, "port -1"},
		{watch.Target{Domain: "com"}, "registrable domain"},
		{watch.Target{Domain: "bücher.example"}, "xn--"},
	} {
		err := tt.target.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%+v: %v, want an error saying %q", tt.target, err, tt.says)
		}
	}
	for _, ok := range []watch.Target{
		{Host: "www.example.com"},
		{Host: "WWW.Example.COM.", Port: 8443},
		{Domain: "example.co.uk"},
		{Host: "api.xn--bcher-kva.example", Domain: "xn--bcher-kva.example"},
	} {
		if err := ok.Validate(); err != nil {
			t.Errorf("%+v: %v", ok, err)
		}
	}
}

func TestCheckerRefusesConfigItCannotRun(t *testing.T) {
	for _, tt := range []struct {
		name string
		o    watch.Options
		says string
	}{
		{"a bad target", watch.Options{Targets: []watch.Target{{Host: "www.example.com"}, {}}}, "targets[1]"},
		{"one endpoint twice", watch.Options{Targets: []watch.Target{{Host: "www.example.com"}, {Host: "WWW.example.com", Port: 443}}}, "targets[1]: www.example.com is targets[0] again"},
		{"an RDAP base that is not a URL", watch.Options{RDAPBase: "rdap.org"}, "rdap base"},
		{"a negative timeout", watch.Options{Timeout: -1}, "negative"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := watch.NewChecker(tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("%v, want an error saying %q", err, tt.says)
			}
		})
	}
}
