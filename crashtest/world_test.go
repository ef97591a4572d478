package crashtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The on-call world: one service whose policy pages alice, then bikram and
// carmen, everyone by SMS and then by phone every few seconds, so that
// escalation steps keep falling due while Klaxon is being killed.
const (
	service     = "checkout"
	integration = "alertmanager-checkout"
	hookToken   = "crashtest-alertmanager-token"
	gatewayName = "fakesms"

	callAfter   = 3 * time.Second // the voice rule's after; SMS is at 0s
	repeatEvery = 6 * time.Second // the contact rules start over
	levelDelay  = 3 * time.Second // level 1 → level 2, and level 2's own
)

// person is someone the policy pages, with the level that pages them.
type person struct {
	name, phone string
	level       int // 1 or 2
}

func people() []person {
	return []person{
		{name: "alice", phone: "+46701740605", level: 1},
		{name: "bikram", phone: "+61491570156", level: 2},
		{name: "carmen", phone: "+13105550100", level: 2},
	}
}

// since is when a person's contact rules start for an incident created
// at created: level 2 starts at a fixed offset, not when a tick got to it.
func (p person) since(created time.Time) time.Time {
	return created.Add(time.Duration(p.level-1) * levelDelay)
}

// due is when contact step k of a run that started at since falls due, and
// its channel: SMS, a call callAfter later, over again every repeatEvery.
func due(since time.Time, k int) (time.Time, string) {
	if k%2 == 0 {
		return since.Add(time.Duration(k/2) * repeatEvery), "sms"
	}
	return since.Add(time.Duration(k/2)*repeatEvery + callAfter), "voice"
}

// writeConfig writes the config klaxon runs on and returns its path.
func writeConfig(dir, listen, providerURL string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: %s\n", listen)
	fmt.Fprintf(&b, "database: %s\n", filepath.Join(dir, "klaxon.db"))
	b.WriteString("log_level: info\n")
	// The storm is a loop's rate, hundreds of webhooks a second from one
	// integration: lift the budget that would stop a real loop.
	b.WriteString("rate_limit: {per_second: 0}\n")
	// Twilio stays off: every page goes through the gateway below.
	b.WriteString("people:\n")
	for _, p := range people() {
		fmt.Fprintf(&b, "  - name: %s\n    timezone: UTC\n    phone: %q\n", p.name, p.phone)
		fmt.Fprintf(&b, "    contact_rules:\n      - {channel: sms, after: 0s}\n      - {channel: voice, after: %s}\n", callAfter)
		fmt.Fprintf(&b, "    repeat_every: %s\n", repeatEvery)
	}
	var levels [2][]string
	for _, p := range people() {
		levels[p.level-1] = append(levels[p.level-1], p.name)
	}
	b.WriteString("policies:\n  - name: storm\n    levels:\n")
	for _, names := range levels {
		fmt.Fprintf(&b, "      - targets: [%s]\n        delay: %s\n", strings.Join(names, ", "), levelDelay)
	}
	fmt.Fprintf(&b, "services:\n  - name: %s\n    policy: storm\n    reopen_window: 0s\n", service)
	fmt.Fprintf(&b, "integrations:\n  - name: %s\n    service: %s\n    format: alertmanager\n    token: %s\n",
		integration, service, hookToken)
	fmt.Fprintf(&b, "sms_gateways:\n  - name: %s\n    channels: [sms, voice]\n    url: %s/send\n", gatewayName, providerURL)
	fmt.Fprintf(&b, "    content_type: application/json\n    body: '%s'\n    id_path: sid\n    timeout: 5s\n", gatewayBody)

	path := filepath.Join(dir, "klaxon.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return "", fmt.Errorf("write config: %w", err)
	}
	return path, nil
}
