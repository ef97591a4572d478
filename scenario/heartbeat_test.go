package scenario

import (
	"net/http"
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon/escalation"
)

// The nightly backup pings at about 02:00 Stockholm time, within half an
// hour either way; a queue worker pings every five minutes.
var beats = team + `
heartbeats:
  - name: nightly-backup
    service: web
    token: backup-heartbeat-token-0123
    cron: "CRON_TZ=Europe/Stockholm 0 2 * * *"
    grace: 30m
  - name: queue-worker
    service: web
    token: worker-heartbeat-token-0123
    every: 5m
    grace: 1m
`

func (h *harness) ping(path, token string) int {
	h.t.Helper()
	hdr := http.Header{}
	if token != "" {
		hdr.Set("Authorization", "Bearer "+token)
	}
	return h.Request(http.MethodPost, path, hdr, nil).Code
}

// The backup ran on Monday night but not on Tuesday: at 02:30 CET on
// Wednesday (01:30 UTC) Klaxon opens an incident — even though it was
// restarted in between — and Wednesday night's late ping resolves it. A
// ping an hour early does not count for the night.
func TestMissedNightlyBackupOpensAnIncident(t *testing.T) {
	h := newHarness(t, beats, "2026-03-02T00:00:00Z") // Mon 01:00 CET
	h.ping("/heartbeat/queue-worker/start", "worker-heartbeat-token-0123")
	h.ping("/heartbeat/nightly-backup", "backup-heartbeat-token-0123") // an hour early
	h.AdvanceTo(mustTime(t, "2026-03-02T01:30:00Z"))                   // Mon 02:30 CET
	early := h.ExpectStatus(2, escalation.StatusTriggered)
	if !strings.Contains(early.Title, "heartbeat nightly-backup missed: no ping by 2026-03-02 01:30 UTC") {
		t.Fatalf("incident %q", early.Title)
	}
	// #1 is the queue worker, started at 00:00 and never done.
	h.ok(h.eng.Resolve(t.Context(), 1, byAlice, "worker retired"))
	h.ok(h.eng.Resolve(t.Context(), 2, byAlice, "ran it by hand"))

	h.AdvanceTo(mustTime(t, "2026-03-03T01:05:00Z")) // Tue 02:05 CET: the backup runs
	h.ping("/heartbeat/nightly-backup", "backup-heartbeat-token-0123")
	h.Restart()
	h.AdvanceTo(mustTime(t, "2026-03-04T01:29:00Z"))
	if incs, _ := h.eng.Incidents(t.Context(), escalation.StatusTriggered, 0); len(incs) != 0 {
		t.Fatalf("%d open incidents before Wednesday's deadline", len(incs))
	}
	h.AdvanceTo(mustTime(t, "2026-03-04T01:30:00Z")) // Wed 02:30 CET
	inc := h.ExpectStatus(3, escalation.StatusTriggered)
	if inc.Service != "web" || !strings.Contains(inc.Title, "heartbeat nightly-backup missed: no ping by 2026-03-04 01:30 UTC") {
		t.Fatalf("incident: %s %q", inc.Service, inc.Title)
	}
	h.AdvanceTo(mustTime(t, "2026-03-04T02:00:00Z"))
	h.ping("/heartbeat/nightly-backup", "backup-heartbeat-token-0123")
	h.ExpectStatus(3, escalation.StatusResolved)
	// One incident per silence: nothing new the next night when it pings.
	h.AdvanceTo(mustTime(t, "2026-03-05T01:10:00Z"))
	h.ping("/heartbeat/nightly-backup", "backup-heartbeat-token-0123")
	h.AdvanceTo(mustTime(t, "2026-03-05T03:00:00Z"))
	if _, _, err := h.eng.Incident(t.Context(), 4); err == nil {
		t.Fatal("a fourth incident opened")
	}
}

func TestHeartbeatFailOpensAtOnceAndBadPingsChangeNothing(t *testing.T) {
	h := newHarness(t, beats, "2026-03-02T00:00:00Z")
	for _, tc := range []struct {
		path, token string
		code        int
	}{
		{"/heartbeat/queue-worker/fail", "", http.StatusUnauthorized},
		{"/heartbeat/queue-worker/fail", "backup-heartbeat-token-0123", http.StatusUnauthorized},
		{"/heartbeat/nightly-restore/fail", "worker-heartbeat-token-0123", http.StatusNotFound},
		{"/heartbeat/queue-worker/explode", "worker-heartbeat-token-0123", http.StatusNotFound},
	} {
		if code := h.ping(tc.path, tc.token); code != tc.code {
			t.Errorf("%s: %d, want %d", tc.path, code, tc.code)
		}
	}
	hdr := http.Header{"Authorization": {"Bearer backup-heartbeat-token-0123"}}
	if body := h.Request(http.MethodPost, "/heartbeat/queue-worker", hdr, nil).Body.String(); body != `{"error":"invalid token for heartbeat \"queue-worker\""}`+"\n" {
		t.Errorf("another heartbeat's token: %s", body)
	}
	if incs, _ := h.eng.Incidents(t.Context(), "", 0); len(incs) != 0 {
		t.Fatalf("bad pings opened %d incidents", len(incs))
	}
	if code := h.Request(http.MethodGet, "/heartbeat/queue-worker/fail?token=worker-heartbeat-token-0123", nil, nil).Code; code != http.StatusOK {
		t.Fatalf("fail ping: %d", code)
	}
	inc := h.ExpectStatus(1, escalation.StatusTriggered)
	if !strings.Contains(inc.Title, "the job reported failure") {
		t.Fatalf("title %q", inc.Title)
	}
	h.ExpectPages("00:00 bikram sms", "00:00 alice sms") // critical: the urgent policy
	h.ping("/heartbeat/queue-worker/start", "worker-heartbeat-token-0123")
	h.ping("/heartbeat/queue-worker", "worker-heartbeat-token-0123")
	h.ExpectStatus(1, escalation.StatusResolved)
}
