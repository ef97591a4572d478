package config

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the machine's zoneinfo

	"github.com/klaxonhq/klaxon/escalation"
)

// env is a lookupEnv over a map.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// base is a small valid config the table tests edit.
const base = `listen: 127.0.0.1:8080
people:
  - name: alice
    timezone: Europe/Stockholm
    phone: "+46701740605"
    contact_rules:
      - {channel: sms, after: 0s}
      - {channel: voice, after: 2m}
    repeat_every: 10m
  - name: bob
    timezone: UTC
    phone: "+13105550100"
    contact_rules: [{channel: sms, after: 0}]
policies:
  - name: default
    levels:
      - targets: [alice]
        delay: 5m
      - targets: [bob]
        delay: 10m
services:
  - name: api
    policy: default
integrations:
  - name: am
    service: api
    format: alertmanager
    token: am-token-0123456789
`

// edit returns base with each old string replaced by the new one after it;
// it fails the test when an old string is missing, so cases stay honest.
func edit(t *testing.T, pairs ...string) string {
	t.Helper()
	return editDoc(t, base, pairs...)
}

// editDoc is edit on any document.
func editDoc(t *testing.T, s string, pairs ...string) string {
	t.Helper()
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("document has no %q", pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

func problemLines(t *testing.T, err error) []string {
	t.Helper()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %v (%T) is not Problems", err, err)
	}
	return strings.Split(ps.Error(), "\n")
}

func TestExampleConfig(t *testing.T) {
	c, err := Load("../config.example.yaml", env(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	cat := c.Catalog()
	if err := cat.Validate(); err != nil {
		t.Fatalf("Catalog.Validate: %v", err)
	}
	if c.Listen != "127.0.0.1:8080" || c.Database != "./klaxon.db" || c.PublicURL != "http://127.0.0.1:8080" {
		t.Errorf("listen, database, public_url = %q, %q, %q", c.Listen, c.Database, c.PublicURL)
	}
	if c.TwilioEnabled() {
		t.Error("Twilio enabled with an empty environment")
	}
	if len(c.API.Tokens) != 1 || c.API.Tokens[0].Token != "demo-api-token" {
		t.Errorf("api tokens = %+v", c.API.Tokens)
	}
	if len(cat.People) != 3 || len(cat.Policies) != 2 || len(cat.Services) != 2 || len(cat.Integrations) != 2 {
		t.Errorf("catalog sizes: %d people, %d policies, %d services, %d integrations",
			len(cat.People), len(cat.Policies), len(cat.Services), len(cat.Integrations))
	}
	zones := map[string]string{}
	for name, p := range cat.People {
		zones[name] = p.Timezone.String()
		if p.Rules[0].After != 0 || len(p.Rules) < 2 || p.Rules[1].Channel != escalation.ChannelVoice {
			t.Errorf("%s's rules = %+v; want sms at 0 then voice", name, p.Rules)
		}
	}
	if zones["alice"] != "Europe/Stockholm" || zones["bikram"] != "Australia/Sydney" || zones["carmen"] != "America/Los_Angeles" {
		t.Errorf("time zones = %v", zones)
	}
	checkout := cat.Services["checkout"]
	if checkout == nil {
		t.Fatal("no checkout service")
	}
	if got := checkout.PolicyFor(escalation.P0); got != "urgent" {
		t.Errorf("checkout P0 policy = %q", got)
	}
	if got := checkout.PolicyFor(escalation.P2); got != "default" {
		t.Errorf("checkout P2 policy = %q", got)
	}
	if got := checkout.PriorityFor("critical"); got != escalation.P1 {
		t.Errorf("checkout critical = %s", got)
	}
	if got := checkout.PriorityFor("unheard-of"); got != escalation.P3 {
		t.Errorf("checkout default priority = %s", got)
	}
	if checkout.ManualResolve || checkout.ReopenWindow != 30*time.Minute {
		t.Errorf("checkout manual=%v reopen=%s", checkout.ManualResolve, checkout.ReopenWindow)
	}
	if !cat.Services["storage"].ManualResolve {
		t.Error("storage resolves automatically")
	}
	if got := cat.Policies["default"].Levels[0].Delay; got > 2*time.Minute {
		t.Errorf("default level 1 delay %s is too long for a walkthrough", got)
	}
	urgent := cat.Policies["urgent"].Levels[0].Targets
	if !slices.Contains(urgent, escalation.Target{Kind: escalation.TargetPerson, Name: "bikram"}) {
		t.Errorf("urgent level 1 targets = %+v", urgent)
	}
	if in := cat.Integrations["pagerduty-storage"]; in == nil || in.Format != FormatPagerDuty || in.Service != "storage" {
		t.Errorf("pagerduty-storage = %+v", in)
	}
}

func TestExampleConfigWithEnvironment(t *testing.T) {
	data, err := os.ReadFile("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(data, env(map[string]string{
		"TWILIO_ACCOUNT_SID": "AC123",
		"TWILIO_AUTH_TOKEN":  "twilio-secret",
		"TWILIO_FROM":        "+15005550006",
		"KLAXON_API_TOKEN":   "real-api-token",
		"KLAXON_PUBLIC_URL":  "https://klaxon.example.com/",
	}))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if !c.TwilioEnabled() || c.Twilio.AuthToken != "twilio-secret" || c.Twilio.From != "+15005550006" {
		t.Errorf("twilio = enabled %v, %+v", c.TwilioEnabled(), c.Twilio)
	}
	if c.API.Tokens[0].Token != "real-api-token" {
		t.Errorf("api token = %q", c.API.Tokens[0].Token)
	}
	if c.PublicURL != "https://klaxon.example.com" {
		t.Errorf("public_url = %q; want it without the trailing slash", c.PublicURL)
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse([]byte(base), nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if c.Database != DefaultDatabase || c.LogLevel != "info" || c.MaxBodyBytes != 1<<20 ||
		c.PublicURL != "http://127.0.0.1:8080" || c.Twilio.BaseURL != DefaultTwilioBaseURL {
		t.Errorf("defaults: %+v", c)
	}
	s := c.Services[0]
	if s.Resolve != "auto" || s.DefaultPriority != "P3" || *s.ReopenWindow != 30*time.Minute ||
		s.SeverityPriority["warning"] != "P3" {
		t.Errorf("service defaults: %+v", s)
	}
	cs := c.Catalog().Services["api"]
	if cs.PriorityFor("critical") != escalation.P1 || cs.PriorityFor("info") != escalation.P4 ||
		cs.DefaultPriority != escalation.P3 || cs.ReopenWindow != 30*time.Minute || cs.ManualResolve {
		t.Errorf("catalog service: %+v", cs)
	}
	if p := c.Catalog().Policies["default"]; p.Repeat != 0 || len(p.Levels) != 2 {
		t.Errorf("policy: %+v", p)
	}

	// An explicit 0 is not absent.
	c, err = Parse([]byte(edit(t, "    policy: default\n", "    policy: default\n    reopen_window: 0\n")), nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := c.Catalog().Services["api"].ReopenWindow; got != 0 {
		t.Errorf("reopen_window 0 became %s", got)
	}
}

// Monitors say "High", "page" or "Warning"; alerts arrive with those read
// as error, critical and warning, and a service's keys are read the same
// way, or "High: P1" would never match anything.
func TestSeverityKeysAreReadAsAlertsAre(t *testing.T) {
	c, err := Parse([]byte(edit(t, "    policy: default\n", "    policy: default\n    severity_priority: {page: P0, High: P1, Warning: P2, Sev5: P4}\n")), nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	cs := c.Catalog().Services["api"]
	for sev, want := range map[string]escalation.Priority{"critical": escalation.P0, "error": escalation.P1, "warning": escalation.P2, "sev5": escalation.P4, "info": escalation.P3} {
		if got := cs.PriorityFor(escalation.NormalizeSeverity(sev)); got != want {
			t.Errorf("severity %s: %s, want %s", sev, got, want)
		}
	}
}

// A gateway that names no channels sends SMS: with no Twilio, a person
// paged by SMS is paged through it, and the config is sound.
func TestAGatewayWithoutChannelsSendsSMS(t *testing.T) {
	doc := "sms_gateways:\n  - {name: gw, url: \"https://gw.example.com/send\", body: \"{{.To}}\"}\n" +
		strings.Replace(base, "      - {channel: voice, after: 2m}\n", "", 1)
	if _, err := Parse([]byte(doc), nil); err != nil {
		t.Fatalf("Parse: %v", err)
	}
}

func TestSetListen(t *testing.T) {
	c, err := Parse([]byte(base), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetListen("0.0.0.0:9090"); err != nil {
		t.Fatal(err)
	}
	if c.Listen != "0.0.0.0:9090" || c.PublicURL != "http://localhost:9090" {
		t.Errorf("after SetListen: listen %q, public_url %q", c.Listen, c.PublicURL)
	}
	if err := c.SetListen("9090"); err == nil {
		t.Error("SetListen accepted an address without a port")
	}

	c, err = Parse([]byte("public_url: https://pager.example.com\n"+base), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetListen(":9090"); err != nil {
		t.Fatal(err)
	}
	if c.PublicURL != "https://pager.example.com" {
		t.Errorf("SetListen changed an explicit public_url to %q", c.PublicURL)
	}
}

func TestProblems(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		env   map[string]string
		wants []string
	}{
		{
			name: "unknown policy",
			yaml: edit(t, "  - name: api\n    policy: default\n", `  - name: api
    policy: default
  - name: web
    policy: default
  - name: storage
    policy: db
`),
			wants: []string{`services[2].policy: unknown policy "db"`},
		},
		{
			name:  "phone not E.164",
			yaml:  edit(t, `"+46701740605"`, `"0701"`),
			wants: []string{`people[0].phone: "0701" is not E.164 (+ and 8 to 15 digits)`},
		},
		{
			name:  "unknown time zone",
			yaml:  edit(t, "timezone: UTC", "timezone: Europe/Stokholm"),
			wants: []string{`people[1].timezone: unknown time zone "Europe/Stokholm"`},
		},
		{
			name:  "machine-dependent time zone",
			yaml:  edit(t, "timezone: UTC", "timezone: Local"),
			wants: []string{`people[1].timezone: "Local" depends on the server; use an IANA name like Europe/Stockholm`},
		},
		{
			name:  "unknown person",
			yaml:  edit(t, "targets: [bob]", "targets: [dave]"),
			wants: []string{`policies[0].levels[1].targets[0]: unknown person "dave"`},
		},
		{
			name: "person: form and bad target kinds",
			yaml: edit(t, "targets: [bob]", "targets: [person:bob, crew:sre, team:sre, person:, bob]"),
			wants: []string{
				`policies[0].levels[1].targets[1]: unknown target kind "crew" (write a person's name, person:NAME, schedule:NAME or team:NAME)`,
				`policies[0].levels[1].targets[2]: unknown team "sre"`,
				`policies[0].levels[1].targets[3]: required`,
				`policies[0].levels[1].targets[4]: "bob" is already a target of this level`,
			},
		},
		{
			name: "duplicate names",
			yaml: edit(t,
				"policies:\n", `  - name: alice
    timezone: UTC
    phone: "+13105550101"
    contact_rules: [{channel: sms, after: 0s}]
policies:
`,
				"services:\n", `  - name: default
    levels: [{targets: [alice], delay: 1m}]
services:
`,
				"integrations:\n", `  - name: api
    policy: default
integrations:
  - name: am
    service: api
    format: alertmanager
    token: another-token
`),
			wants: []string{
				`people[2].name: duplicate person "alice"`,
				`policies[1].name: duplicate policy "default"`,
				`services[1].name: duplicate service "api"`,
				`integrations[1].name: duplicate integration "am"`,
			},
		},
		{
			name: "missing required fields",
			yaml: `people:
  - timezone: UTC
policies:
  - name: default
    levels:
      - targets: []
services:
  - name: api
integrations:
  - {}
`,
			wants: []string{
				`people[0].name: required`,
				`people[0].phone: required`,
				`people[0].contact_rules: at least one contact rule is required`,
				`policies[0].levels[0].targets: at least one target is required`,
				`policies[0].levels[0].delay: required: how long before the next level is paged too, like 5m`,
				`services[0].policy: required`,
				`integrations[0].name: required`,
				`integrations[0].service: required`,
				`integrations[0].format: required`,
				`integrations[0].token: required`,
			},
		},
		{
			name: "policy without levels",
			yaml: edit(t, `    levels:
      - targets: [alice]
        delay: 5m
      - targets: [bob]
        delay: 10m
`, "    levels: []\n"),
			wants: []string{`policies[0].levels: at least one level is required`},
		},
		{
			name: "bad priorities",
			yaml: edit(t, "    policy: default\n", `    policy: default
    policy_by_priority: {P9: default, p1: default, P1: default, P0: loud}
    severity_priority: {critical: P0, sev1: urgent, High: P1, major: P2}
    default_priority: P7
`),
			wants: []string{
				`services[0].policy_by_priority.P0: unknown policy "loud"`,
				`services[0].policy_by_priority.P9: unknown priority "P9" (want P0 to P4)`,
				`services[0].policy_by_priority.p1: duplicate priority P1`,
				`services[0].severity_priority.major: "High" and "major" are the same severity to Klaxon (error): keep one`,
				`services[0].severity_priority.sev1: unknown priority "urgent" (want P0 to P4)`,
				`services[0].default_priority: unknown priority "P7" (want P0 to P4)`,
			},
		},
		{
			name:  "bad channel",
			yaml:  edit(t, "{channel: voice, after: 2m}", "{channel: email, after: 2m}"),
			wants: []string{`people[0].contact_rules[1].channel: unknown channel "email" (want sms, voice, slack or discord)`},
		},
		{
			// A matcher that only requires a label to be absent matches
			// nearly every alert.
			name:  "a maintenance window over everything",
			yaml:  base + "silences:\n  - {matchers: {team: \"\"}, cron: \"* * * * *\", duration: 1h}\n",
			wants: []string{`silences[0]: give a service, a matcher with a value, or both: a window over everything would silence Klaxon`},
		},
		{
			name:  "a burst without a rate",
			yaml:  "rate_limit: {burst: 5}\n" + base,
			wants: []string{`rate_limit.per_second: required with a burst (0 turns the limit off; the default is 100)`},
		},
		{
			// 1ms meant 1m: a level and a repeat that would flood phones.
			name: "paging faster than a second",
			yaml: edit(t, "repeat_every: 10m", "repeat_every: 500ms", "delay: 5m", "delay: 1ms"),
			wants: []string{
				`people[0].repeat_every: at least 1s (got 500ms): faster is a flood of pages, not paging`,
				`policies[0].levels[0].delay: at least 1s (got 1ms): a level faster than that is a typo (1ms for 1m?)`,
			},
		},
		{
			// A gateway for calls only, and no Twilio: the texts would go
			// to the log alone.
			name: "a channel no provider sends",
			yaml: "sms_gateways:\n  - {name: callgw, channels: [voice], url: \"https://gw.example.com/call\", body: \"{{.To}}\"}\n" + base,
			wants: []string{
				`people[0].contact_rules[0].channel: no provider sends sms (twilio is not set up, and no sms_gateways entry lists sms): its pages would only be logged`,
				`people[1].contact_rules[0].channel: no provider sends sms (twilio is not set up, and no sms_gateways entry lists sms): its pages would only be logged`,
			},
		},
		{
			// A DM rule with no chat to send it would fail every page.
			name: "direct messages with no chat configured",
			yaml: edit(t, "      - {channel: voice, after: 2m}\n",
				"      - {channel: slack, after: 2m}\n      - {channel: discord, after: 5m}\n    slack_id: U0ALICE\n    discord_id: \"80351110224678912\"\n"),
			wants: []string{
				`people[0].contact_rules[1].channel: slack direct messages need the slack section (bot_token) to send them`,
				`people[0].contact_rules[2].channel: discord direct messages need the discord section (bot_token) to send them`,
			},
		},
		{
			name: "negative durations and counts",
			yaml: edit(t,
				"{channel: sms, after: 0s}", "{channel: sms, after: -1m}",
				"repeat_every: 10m", "repeat_every: -10m",
				"delay: 5m", "delay: -5m",
				"  - name: default\n", "  - name: default\n    repeat: -1\n",
				"    policy: default\n", "    policy: default\n    reopen_window: -1m\n"),
			wants: []string{
				`people[0].contact_rules[0].after: must not be negative (got -1m0s)`,
				`people[0].repeat_every: must not be negative (got -10m0s)`,
				`policies[0].repeat: must not be negative (got -1)`,
				`policies[0].levels[0].delay: must be positive (got -5m0s)`,
				`services[0].reopen_window: must not be negative (got -1m0s); 0 disables reopening`,
			},
		},
		{
			name: "contact rules out of order and repeat too short",
			yaml: edit(t,
				"      - {channel: voice, after: 2m}\n", "      - {channel: voice, after: 2m}\n      - {channel: voice, after: 1m}\n",
				"repeat_every: 10m", "repeat_every: 2m"),
			wants: []string{
				`people[0].contact_rules[2].after: 1m0s must be later than the previous rule's after (2m0s)`,
				`people[0].repeat_every: 2m0s must be longer than the latest contact rule's after (2m0s)`,
			},
		},
		{
			name:  "shared phone",
			yaml:  edit(t, `"+13105550100"`, `"+46701740605"`),
			wants: []string{`people[1].phone: "+46701740605" is already alice's phone`},
		},
		{
			name: "twilio partly configured",
			yaml: "twilio:\n  account_sid: AC123\n" + base,
			wants: []string{
				`twilio.auth_token: required when account_sid is set (leave account_sid, auth_token and from all empty to disable Twilio)`,
				`twilio.from: required when account_sid is set (leave account_sid, auth_token and from all empty to disable Twilio)`,
				`public_url: required when Twilio is enabled: the https URL at which Twilio reaches Klaxon`,
			},
		},
		{
			name: "twilio without account sid and with a bad sender",
			yaml: "twilio:\n  auth_token: ${TWILIO_AUTH_TOKEN}\n  from: \"555-0100\"\n  base_url: api.twilio.com\n" + base,
			env:  map[string]string{"TWILIO_AUTH_TOKEN": "tw-secret"},
			wants: []string{
				`twilio.account_sid: required when auth_token and from are set (leave account_sid, auth_token and from all empty to disable Twilio)`,
				`twilio.from: "555-0100" is not E.164 (+ and 8 to 15 digits)`,
				`twilio.base_url: "api.twilio.com" is not an absolute http or https URL`,
			},
		},
		{
			name: "twilio secret not set",
			yaml: "twilio:\n  account_sid: AC123\n  auth_token: ${TWILIO_AUTH_TOKEN}\n  from: \"+15005550006\"\n" + base,
			wants: []string{
				`twilio.auth_token: environment variable TWILIO_AUTH_TOKEN is not set`,
				`public_url: required when Twilio is enabled: the https URL at which Twilio reaches Klaxon`,
			},
		},
		{
			name:  "public_url not http",
			yaml:  "public_url: ftp://example.com\n" + base,
			wants: []string{`public_url: "ftp://example.com" is not an absolute http or https URL`},
		},
		{
			name:  "public_url relative",
			yaml:  "public_url: /klaxon\n" + base,
			wants: []string{`public_url: "/klaxon" is not an absolute http or https URL`},
		},
		{
			name:  "public_url with credentials",
			yaml:  "public_url: https://user:hunter2@example.com\n" + base,
			wants: []string{`public_url: must not contain a user name or password`},
		},
		{
			name: "server settings",
			yaml: edit(t, "listen: 127.0.0.1:8080\n",
				"listen: \"8080\"\ndatabase: \"\"\nlog_level: verbose\nmax_body_bytes: 0\n"),
			wants: []string{
				`listen: "8080" is not host:port, like 127.0.0.1:8080 or :8080`,
				`database: required`,
				`log_level: unknown level "verbose" (want debug, info, warn or error)`,
				`max_body_bytes: must be positive (got 0)`,
			},
		},
		{
			name: "api tokens",
			yaml: `api:
  tokens:
    - {name: ops, token: t-one}
    - {name: ops, token: t-two}
    - {name: ci, token: ""}
    - {name: "ci bot", token: t-three}
    - {name: deploy, token: t-one}
` + base,
			wants: []string{
				`api.tokens[1].name: duplicate token name "ops"`,
				`api.tokens[2].token: required`,
				`api.tokens[3].name: "ci bot" is not a valid name: use letters, digits, '.', '_' and '-', starting with a letter or digit`,
				`api.tokens[4].token: same token as api.tokens[0]; each name needs its own token`,
			},
		},
		{
			name: "integrations",
			yaml: edit(t, "    token: am-token-0123456789\n", `    token: ${AM_TOKEN:-}
  - name: Alert Manager
    service: web
    format: nagios
    token: t-1
  - name: pd-1
    service: api
    format: pagerduty
    token: same-routing-key
  - name: pd-2
    service: api
    format: pagerduty
    token: same-routing-key
`),
			wants: []string{
				`integrations[0].token: required`,
				`integrations[1].name: "Alert Manager" may contain only a-z, 0-9, '_' and '-' (it is the URL path /hooks/{name})`,
				`integrations[1].service: unknown service "web"`,
				`integrations[1].format: unknown format "nagios" (want one of alertmanager, datadog, generic, grafana, opsgenie, pagerduty, uptime-kuma)`,
				`integrations[3].token: same routing key as integrations[2]; each pagerduty integration needs its own token`,
			},
		},
		{
			name:  "unknown key",
			yaml:  edit(t, `    phone: "+13105550100"`, `    phone: "+13105550100"`+"\n    phon: \"+13105550100\""),
			wants: []string{`people[1].phon: unknown key "phon" (line 13); known keys: name, timezone, phone, contact_rules, repeat_every, working_hours, slack_id, discord_id, call_limit`},
		},
		{
			name:  "unknown top-level key",
			yaml:  "pagerduty: {token: x}\n" + base,
			wants: []string{`pagerduty: unknown key "pagerduty" (line 1); known keys: listen, database, public_url, log_level, max_body_bytes, rate_limit, api, twilio, slack, discord, people, schedules, teams, policies, services, integrations, heartbeats, sms_gateways, watch, watchdog, silences, status, public_updates, retention`},
		},
		{
			name:  "duplicate key",
			yaml:  edit(t, "    policy: default\n", "    policy: default\n    policy: other\n"),
			wants: []string{`services[0].policy: duplicate key at line 24 (first at line 23)`},
		},
		{
			name: "wrong shapes and types",
			yaml: edit(t,
				"targets: [alice]", "targets: alice",
				"delay: 10m", "delay: 10",
				"  - name: default\n", "  - name: default\n    repeat: twice\n",
				"    policy: default\n", "    policy: default\n    group_by: {alertname: true}\n"),
			wants: []string{
				`policies[0].repeat: "twice" is not a whole number (line 16)`,
				`policies[0].levels[0].targets: expected a list, got a single value (line 18)`,
				`policies[0].levels[1].delay: "10" is not a duration; write it with a unit, like 30s, 2m, 1h30m or 90d (line 21)`,
				`services[0].group_by: expected a list, got a mapping (line 25)`,
			},
		},
		{
			name:  "empty list item keeps later indices",
			yaml:  edit(t, "people:\n", "people:\n  -\n"),
			wants: []string{`people[0]: empty list item (line 3)`},
		},
		{
			name:  "not a mapping",
			yaml:  "- just\n- a list\n",
			wants: []string{`expected a mapping, got a list (line 1)`},
		},
		{
			name:  "empty",
			yaml:  "# nothing here\n",
			wants: []string{`the config is empty`},
		},
		{
			name:  "two documents",
			yaml:  base + "---\nlisten: :9090\n",
			wants: []string{`only one YAML document is allowed; another starts at line 29`},
		},
		{
			name: "independent problems of one entry are all reported",
			yaml: edit(t,
				"  - name: alice\n", "  - name: al ice\n    call_limit: {max: 0, window: 15m}\n",
				"targets: [alice]", "targets: [bob]") + `rate_limit: {per_second: -1, burst: -5}
heartbeats:
  - {name: nightly, service: api, token: nightly-token-0123456789, grace: -1m}
schedules:
  - name: primary
    timezone: UTC
    layers: [{participants: [nobody], shift: 1w, handoff: "09:00", start: 2025-01-06}]
    notify: {digest: "0 9 * *"}
`,
			wants: []string{
				`people[0].name: "al ice" is not a valid name: use letters, digits, '.', '_' and '-', starting with a letter or digit`,
				`people[0].call_limit: want max (at least 1) and window (like 15m)`,
				`schedules[0].layers[0].participants[0]: unknown person "nobody"`,
				`schedules[0].notify.digest: cron "0 9 * *": expected exactly 5 fields, found 4: [0 9 * *]`,
				`heartbeats[0].grace: must not be negative`,
				`heartbeats[0]: give every (like 1h) or cron (like "CRON_TZ=Europe/Stockholm 0 2 * * *"), one of them`,
				`rate_limit.per_second: must not be negative; 0 turns the limit off`,
				`rate_limit.burst: must not be negative`,
			},
		},
		{
			name: "watch: every target's problem",
			yaml: base + `watch:
  service: api
  timeout: -1s
  targets:
    - {domain: example.com, port: 8443}
    - {host: shop.example.com}
    - {host: Shop.Example.com., port: 443}
    - {host: shop.example.com, port: 8443}
    - {port: 70000}
    - {host: shop.example.com, port: 8443}
`,
			wants: []string{
				`watch.timeout: must not be negative (got -1s); 0 is the default`,
				`watch.targets[0].port: only means something with a host: the port its certificate is checked on`,
				`watch.targets[2]: shop.example.com is watch.targets[1] again`,
				`watch.targets[4]: give a host (its certificate is checked), a domain (its registration is checked), or both`,
				`watch.targets[4].port: 70000 is not a port`,
				`watch.targets[5]: shop.example.com:8443 is watch.targets[3] again`,
			},
		},
		{
			name: "several problems at once",
			yaml: edit(t,
				`"+46701740605"`, `"0701"`,
				"timezone: UTC", "timezone: Mars/Olympus",
				"targets: [bob]", "targets: [dave]",
				"    policy: default\n", "    policy: db\n    colour: red\n",
				"format: alertmanager", "format: nagios"),
			wants: []string{
				`services[0].colour: unknown key "colour" (line 24); known keys: name, policy, policy_by_priority, severity_priority, default_priority, group_by, resolve, public, slack_channel, discord_channel, reopen_window, flap, depends_on, correlate, split_after`,
				`people[0].phone: "0701" is not E.164 (+ and 8 to 15 digits)`,
				`people[1].timezone: unknown time zone "Mars/Olympus"`,
				`policies[0].levels[1].targets[0]: unknown person "dave"`,
				`services[0].policy: unknown policy "db"`,
				`integrations[0].format: unknown format "nagios" (want one of alertmanager, datadog, generic, grafana, opsgenie, pagerduty, uptime-kuma)`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), env(tt.env))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", c)
			}
			got := problemLines(t, err)
			if !slices.Equal(got, tt.wants) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.wants, "\n"))
			}
		})
	}
}

func TestSyntaxError(t *testing.T) {
	_, err := Parse([]byte("people: [alice\n"), nil)
	var ps Problems
	if err == nil || errors.As(err, &ps) {
		t.Fatalf("err = %v; want a YAML syntax error", err)
	}
	if !strings.Contains(err.Error(), "line") {
		t.Errorf("syntax error %q has no line", err)
	}
}

func TestLoadWrapsErrors(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml", nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	path := t.TempDir() + "/klaxon.yaml"
	if err := os.WriteFile(path, []byte(edit(t, "timezone: UTC", "timezone: Nowhere")), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path, nil)
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 1 || !strings.Contains(err.Error(), path) {
		t.Errorf("invalid file: %v", err)
	}
}

func TestExpansion(t *testing.T) {
	yamlSecret := "a: b\n- c"
	vars := map[string]string{
		"AM_TOKEN":   yamlSecret,
		"EMPTY":      "",
		"NULLISH":    "null",
		"REPEAT":     "3",
		"BODY_LIMIT": "2048",
		"TZ_NAME":    "Europe/Stockholm",
	}
	// Each case writes value in place of at, both plain and double-quoted.
	const timezone, token = "timezone: UTC", "token: am-token-0123456789"
	tests := []struct {
		name, at, value string
		want            string
	}{
		{"set", timezone, "${TZ_NAME}", "Europe/Stockholm"},
		{"default when unset", timezone, "${NOPE:-UTC}", "UTC"},
		{"default when empty", timezone, "${EMPTY:-UTC}", "UTC"},
		{"inside text", timezone, "Europe/${CITY:-Stockholm}", "Europe/Stockholm"},
		{"secret with YAML syntax stays a string", token, "${AM_TOKEN}", yamlSecret},
		{"null from the environment stays a string", token, "${NULLISH}", "null"},
		{"dollar dollar", token, "pa$$word-${EMPTY}", "pa$word-"},
		{"escaped reference", token, "$${AM_TOKEN}", "${AM_TOKEN}"},
		{"lone dollar", token, "co$t$", "co$t$"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, _, _ := strings.Cut(tt.at, ":")
			for _, value := range []string{tt.value, quoteYAML(tt.value)} {
				c, err := Parse([]byte(edit(t, tt.at, key+": "+value)), env(vars))
				if err != nil {
					t.Fatalf("Parse %s: %v", value, err)
				}
				got := c.People[1].Timezone
				if tt.at == token {
					got = c.Integrations[0].Token
				}
				if got != tt.want {
					t.Errorf("%s: got %q, want %q", value, got, tt.want)
				}
			}
		})
	}

	t.Run("numbers and durations", func(t *testing.T) {
		doc := edit(t,
			"listen: 127.0.0.1:8080\n", "listen: 127.0.0.1:8080\nmax_body_bytes: ${BODY_LIMIT}\n",
			"  - name: default\n", "  - name: default\n    repeat: ${REPEAT}\n",
			"delay: 5m", `delay: "${DELAY:-90s}"`)
		c, err := Parse([]byte(doc), env(vars))
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if c.MaxBodyBytes != 2048 || c.Policies[0].Repeat != 3 || c.Policies[0].Levels[0].Delay != 90*time.Second {
			t.Errorf("max_body_bytes %d, repeat %d, delay %s", c.MaxBodyBytes, c.Policies[0].Repeat, c.Policies[0].Levels[0].Delay)
		}
	})

	t.Run("unset and malformed references", func(t *testing.T) {
		doc := edit(t,
			"timezone: UTC", "timezone: ${BOB_TZ}",
			"token: am-token-0123456789", "token: ${AM_TOKEN}-${AM_SUFFIX}",
			"name: api\n", "name: ${1BAD}\n",
			"name: default\n", "name: ${UNCLOSED\n")
		_, err := Parse([]byte(doc), env(vars))
		want := []string{
			`people[1].timezone: environment variable BOB_TZ is not set`,
			`policies[0].name: unterminated ${ (write $$ for a literal $)`,
			`services[0].name: bad ${...} reference: want ${NAME} or ${NAME:-default} with NAME made of letters, digits and _ (write $$ for a literal $)`,
			`integrations[0].token: environment variable AM_SUFFIX is not set`,
			// The policy and service have no usable name, so they cannot be
			// referred to; that is reported too.
			`services[0].policy: unknown policy "default"`,
			`integrations[0].service: unknown service "api"`,
		}
		got := problemLines(t, err)
		if !slices.Equal(got, want) {
			t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if strings.Contains(err.Error(), "a: b") {
			t.Errorf("error leaks AM_TOKEN: %v", err)
		}
	})

	t.Run("keys and unknown keys are not expanded", func(t *testing.T) {
		doc := "${NOT_A_KEY}: 1\n" + base
		_, err := Parse([]byte(doc), env(vars))
		got := problemLines(t, err)
		if len(got) != 1 || !strings.HasPrefix(got[0], `${NOT_A_KEY}: unknown key "${NOT_A_KEY}" (line 1)`) {
			t.Errorf("problems: %q", got)
		}
	})
}

// quoteYAML double-quotes s for YAML, as a user writing a secret would.
func quoteYAML(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}

func TestSecretsStayOutOfErrors(t *testing.T) {
	secrets := map[string]string{
		"API_TOKEN":         "api-SECRET-1",
		"TWILIO_AUTH_TOKEN": "twilio-SECRET-2",
		"PD_KEY":            "pd-SECRET-3",
		"MISPLACED":         "misplaced-SECRET-4",
		"SID":               "AC-SECRET-5",
		"HC_URL":            "ftp://hc-ping.example/SECRET-6-uuid",
	}
	doc := `watchdog:
  url: ${HC_URL}
api:
  tokens:
    - {name: one, token: "${API_TOKEN}"}
    - {name: two, token: "${API_TOKEN}"}
twilio:
  account_sid: ${SID}
  auth_token: ${TWILIO_AUTH_TOKEN}
  base_url: ${MISSING_URL}
` + edit(t,
		"  - name: default\n", "  - name: default\n    repeat: ${MISPLACED}\n",
		"delay: 5m", "delay: ${TWILIO_AUTH_TOKEN}",
		"    policy: default\n", "    policy: default\n    reopen_window: ${PD_KEY}\n",
		"    token: am-token-0123456789\n", `    token: ${PD_KEY}
    format: pagerduty
  - name: pd-2
    service: api
    format: pagerduty
    token: ${PD_KEY}
  - name: pd-3
    service: api
    format: pagerduty
    token: ${TWILIO_AUTH_TOKEN
`)
	doc = strings.Replace(doc, "    format: alertmanager\n", "", 1)
	_, err := Parse([]byte(doc), env(secrets))
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	msg := err.Error()
	for name, secret := range secrets {
		if strings.Contains(msg, secret) || strings.Contains(msg, secret[:7]) {
			t.Errorf("error shows %s:\n%s", name, msg)
		}
	}
	for _, want := range []string{
		"api.tokens[1].token: same token as api.tokens[0]",
		"twilio.from: required when account_sid and auth_token are set",
		"twilio.base_url: environment variable MISSING_URL is not set",
		"policies[0].repeat: the value from ${...} is not a whole number",
		"policies[0].levels[0].delay: the value from ${...} is not a duration",
		"services[0].reopen_window: the value from ${...} is not a duration",
		"integrations[1].token: same routing key as integrations[0]",
		"integrations[2].token: unterminated ${",
		"watchdog.url: not an absolute http or https URL",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("no %q in:\n%s", want, msg)
		}
	}
}

func TestAnchorsAndMerges(t *testing.T) {
	doc := edit(t,
		"    contact_rules:\n      - {channel: sms", "    contact_rules: &rules\n      - {channel: sms",
		"    contact_rules: [{channel: sms, after: 0}]", "    contact_rules: *rules",
		"  - name: api\n    policy: default\n", `  - &svc
    name: api
    policy: default
    resolve: manual
  - <<: *svc
    name: web
`)
	doc = strings.Replace(doc, "repeat_every: 10m", "repeat_every: 10m\n  - &carol\n    name: carol\n    timezone: UTC\n    phone: \"+13105550102\"\n    contact_rules: *rules", 1)
	c, err := Parse([]byte(doc), nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	cat := c.Catalog()
	if n := len(cat.People["bob"].Rules); n != 2 {
		t.Errorf("bob has %d rules; want alice's 2", n)
	}
	if web := cat.Services["web"]; web == nil || !web.ManualResolve || web.Policy != "default" {
		t.Errorf("merged service web = %+v", web)
	}

	t.Run("alias cycle", func(t *testing.T) {
		_, err := Parse([]byte("people: &p [*p]\n"), nil)
		if err == nil {
			t.Fatal("Parse accepted a self-referencing alias")
		}
	})
	t.Run("unknown key in a merged mapping", func(t *testing.T) {
		doc := edit(t, "  - name: api\n    policy: default\n", `  - &svc {name: api, policy: default, colour: red}
  - {<<: *svc, name: web}
`)
		got := problemLines(t, mustFail(t, doc))
		want := []string{`services[0].colour: unknown key "colour" (line 22); known keys: name, policy, policy_by_priority, severity_priority, default_priority, group_by, resolve, public, slack_channel, discord_channel, reopen_window, flap, depends_on, correlate, split_after`}
		if !slices.Equal(got, want) {
			t.Errorf("problems: %q", got)
		}
	})
	t.Run("a merge of nothing", func(t *testing.T) {
		for doc, line := range map[string]int{"services: [{<<}]\n": 1, "services:\n  - <<: [{name: x}, ~]\n": 2} {
			got := problemLines(t, mustFail(t, doc))
			want := fmt.Sprintf("services[0]: << at line %d merges nothing: give it a mapping (<<: *base) or a list of them", line)
			if got[0] != want {
				t.Errorf("%q: problems %q; want first %q", doc, got, want)
			}
		}
	})
}

func mustFail(t *testing.T, doc string) error {
	t.Helper()
	_, err := Parse([]byte(doc), nil)
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	return err
}

func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("../config.example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte(base))
	f.Add([]byte(strings.Replace(base, "policies:\n", scheduleSection+"policies:\n", 1)))
	f.Add([]byte("people: &p [*p]\n"))
	f.Add([]byte("a: &a [*a, *a]\nb: &b [*a, *a]\n"))
	f.Add([]byte("services: [{<<: [{name: x}], policy: ${P:-y}}]\n"))
	lookup := env(map[string]string{"AM_TOKEN": "a: b\n- c", "P": "default"})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, lookup)
		if err != nil {
			var ps Problems
			if errors.As(err, &ps) {
				for _, p := range ps {
					if p.Message == "" {
						t.Fatalf("problem at %q has no message", p.Path)
					}
					if strings.Contains(p.Message, "internal error") || strings.HasPrefix(p.Message, "decode:") {
						t.Fatalf("walk and decoder disagree: %s", p)
					}
				}
			}
			return
		}
		if err := c.Catalog().Validate(); err != nil {
			t.Fatalf("valid config, invalid catalog: %v", err)
		}
	})
}

// Retention is thought of in days; it may not be shorter than the status
// page's history, and a split wait may not be negative.
func TestRetentionAndSplitAfter(t *testing.T) {
	cfg, err := Parse([]byte("retention: 400d\n"+edit(t, "    policy: default\n", "    policy: default\n    split_after: 1d12h\n")), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Retention != 400*24*time.Hour {
		t.Errorf("retention %s", cfg.Retention)
	}
	if got := cfg.Catalog().Services["api"].SplitAfter; got != 36*time.Hour {
		t.Errorf("split_after %s", got)
	}
	if cfg, err := Parse([]byte(base), env(nil)); err != nil || cfg.Retention != 0 {
		t.Errorf("by default retention is %v (%v), want 0: keep everything", cfg.Retention, err)
	}
	for _, c := range []struct{ yaml, want string }{
		{"retention: 30d\n" + base, "retention: at least 90d (got 720h0m0s): the status page shows 90 days of history, and reviews need their incidents"},
		{"retention: -1h\n" + base, "retention: must not be negative; 0 keeps everything"},
		{"retention: 1.5d\n" + base, `retention: "1.5d" is not a duration; write it with a unit, like 30s, 2m, 1h30m or 90d (line 1)`},
		{"retention: 99999d\n" + base, `retention: "99999d" is not a duration; write it with a unit, like 30s, 2m, 1h30m or 90d (line 1)`},
		{"retention: 90dd\n" + base, `retention: "90dd" is not a duration; write it with a unit, like 30s, 2m, 1h30m or 90d (line 1)`},
		{"retention: 1d2562047h\n" + base, `retention: "1d2562047h" is not a duration; write it with a unit, like 30s, 2m, 1h30m or 90d (line 1)`},
		{"retention: -100d\n" + base, "retention: must not be negative; 0 keeps everything"},
		{edit(t, "    policy: default\n", "    policy: default\n    split_after: -5m\n"), "services[0].split_after: must not be negative (got -5m0s)"},
		{"retention: 90d\n" + edit(t, "    policy: default\n", "    policy: default\n    reopen_window: 180d\n"),
			"services[0].reopen_window: 4320h0m0s is longer than the retention (2160h0m0s): an incident would be deleted while it may still reopen"},
	} {
		_, err := Parse([]byte(c.yaml), env(nil))
		if err == nil {
			t.Errorf("accepted %q", c.want)
			continue
		}
		if lines := problemLines(t, err); !slices.Contains(lines, c.want) {
			t.Errorf("problems %q, want %q", lines, c.want)
		}
	}
}

// A team pages its members together: a level naming it gets each of them
// once, however else they are named there.
func TestTeams(t *testing.T) {
	doc := edit(t, "policies:\n", `teams:
  - {name: api-team, members: [alice, person:bob]}
  - {name: on-call, members: [bob]}
policies:
`, "targets: [bob]", "targets: [team:api-team, bob, team:on-call]")
	cfg, err := Parse([]byte(doc), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := []escalation.Target{{Kind: escalation.TargetPerson, Name: "alice"}, {Kind: escalation.TargetPerson, Name: "bob"}}
	if got := cfg.Catalog().Policies["default"].Levels[1].Targets; !slices.Equal(got, want) {
		t.Fatalf("level 1 pages %v, want %v", got, want)
	}

	bad := edit(t, "policies:\n", `teams:
  - {name: api-team, members: [alice, dave, team:on-call, alice]}
  - {name: empty}
  - {name: api-team, members: [bob]}
policies:
`, "targets: [bob]", "targets: [team:api-team]")
	got := problemLines(t, mustFail(t, bad))
	wants := []string{
		`teams[0].members[1]: unknown person "dave"`,
		`teams[0].members[2]: unknown member kind "team" (write a person's name, person:NAME or schedule:NAME)`,
		`teams[0].members[3]: "alice" is already a member of this team`,
		`teams[1].members: at least one member is required`,
		`teams[2].name: duplicate team "api-team"`,
	}
	if !slices.Equal(got, wants) {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wants, "\n"))
	}
}

// "page primary ..." in chat must mean one thing: a team may not share a
// schedule's name; a team of people and a schedule reaches the catalog.
func TestTeamsAndSchedulesAreNamedApart(t *testing.T) {
	got := problemLines(t, mustFail(t, editSchedules(t, "policies:\n", "teams:\n  - {name: primary, members: [alice]}\npolicies:\n")))
	want := []string{`teams[0].name: "primary" is a schedule's name too; name the team apart`}
	if !slices.Equal(got, want) {
		t.Fatalf("problems %q, want %q", got, want)
	}
	cfg, err := Parse([]byte(editSchedules(t, "policies:\n", "teams:\n  - {name: ops, members: [bob, schedule:primary]}\npolicies:\n")), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	wantOps := []escalation.Target{{Kind: escalation.TargetPerson, Name: "bob"}, {Kind: escalation.TargetSchedule, Name: "primary"}}
	if got := cfg.Catalog().Teams["ops"]; !slices.Equal(got, wantOps) {
		t.Fatalf("team ops: %v, want %v", got, wantOps)
	}
}
