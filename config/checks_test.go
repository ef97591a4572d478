package config

import (
	"slices"
	"strings"
	"testing"
)

// The adapters' checks are reported with the config's own problems, each
// at its entry in config order, without repeating what validation said.
func TestChecksAreReportedAtTheirEntries(t *testing.T) {
	doc := edit(t, "    token: am-token-0123456789\n", `    token: am-token-0123456789
  - name: homegrown
    service: api
    format: generic
    token: homegrown-token-0123456789
    fields: {dedup_key: id, summary: "a..b"}
  - name: homegrown-batch
    service: api
    format: generic
    token: homegrown-token-9876543210
    fields: {summary: "c..d"}
`) + `sms_gateways:
  - {name: gw, channels: [sms, voice], url: "{{.Nope}}", timeout: soon}
  - {name: gw2, channels: [pigeon]}
watch:
  service: api
  targets:
    - {host: bad.example.com}
    - {host: shop.example.com, port: 70000}
    - {host: shop.example.com}
`
	checks := Checks{
		SMSGateway: func(g SMSGateway) Problems {
			ps := Problems{{"url", "renders nothing at " + g.Name}, {"", "cannot send"}}
			if g.Name == "gw" {
				// Its timeout did not decode: said already.
				ps = append(ps, Problem{"timeout", "must be set"})
			}
			return ps
		},
		GenericFields: func(f GenericFields) Problems {
			return Problems{{"dedup_key", "required"}, {"summary", f.Summary + " has an empty step"}}
		},
		WatchTarget: func(wt WatchTarget) Problems {
			if strings.HasPrefix(wt.Host, "bad") {
				return Problems{{"host", "not resolvable"}}
			}
			return Problems{{"port", "out of range"}}
		},
	}
	_, err := checks.Parse([]byte(doc), nil)
	got := problemLines(t, err)
	want := []string{
		`sms_gateways[0].timeout: "soon" is not a duration; write it with a unit, like 30s, 2m, 1h30m or 90d (line 40)`,
		`integrations[1].fields.dedup_key: required`,
		`integrations[1].fields.summary: a..b has an empty step`,
		// Validation said dedup_key is missing; the check's "required" is dropped.
		`integrations[2].fields.dedup_key: required for a generic integration: the path of the alert's identity, like id or labels.fingerprint`,
		`integrations[2].fields.summary: c..d has an empty step`,
		`sms_gateways[0].url: renders nothing at gw`,
		`sms_gateways[0]: cannot send`,
		`sms_gateways[1].url: required`,
		`sms_gateways[1].channels[0]: unknown channel "pigeon" (want sms or voice)`,
		`sms_gateways[1]: cannot send`,
		`watch.targets[0].host: not resolvable`,
		`watch.targets[1].port: 70000 is not a port`,
		`watch.targets[2].port: out of range`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Without checks, Parse judges only what config knows.
func TestNoChecksNoAdapterProblems(t *testing.T) {
	doc := base + "sms_gateways:\n  - {name: gw, channels: [sms, voice], url: \"{{.Nope\"}\n"
	if _, err := Parse([]byte(doc), nil); err != nil {
		t.Fatal(err)
	}
}
