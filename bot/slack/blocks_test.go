package slack

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	slackgo "github.com/slack-go/slack"

	"github.com/klaxonhq/klaxon/escalation"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.golden.json files")

func checkoutIncident() *escalation.Incident {
	started := time.Date(2025, 3, 14, 2, 7, 31, 0, time.FixedZone("CET", 3600))
	return &escalation.Incident{
		ID:        42,
		Service:   "checkout-api",
		Title:     "HighErrorRate on checkout-api",
		Status:    escalation.StatusTriggered,
		Priority:  escalation.P1,
		CreatedAt: started,
		UpdatedAt: started,
		Firing:    1,
		Alerts:    1,
	}
}

func acknowledgedIncident() *escalation.Incident {
	inc := checkoutIncident()
	inc.Status = escalation.StatusAcknowledged
	inc.AcknowledgedBy = "alice"
	inc.AcknowledgedAt = time.Date(2025, 3, 14, 1, 12, 0, 0, time.UTC)
	return inc
}

func resolvedIncident() *escalation.Incident {
	inc := acknowledgedIncident()
	inc.Status = escalation.StatusResolved
	inc.ResolvedBy = "bob"
	inc.ResolvedAt = time.Date(2025, 3, 14, 1, 40, 0, 0, time.UTC)
	return inc
}

func snoozedIncident() *escalation.Incident {
	inc := acknowledgedIncident()
	inc.SnoozedUntil = time.Date(2025, 3, 14, 3, 12, 0, 0, time.UTC)
	return inc
}

func mergedIncident() *escalation.Incident {
	inc := resolvedIncident()
	inc.ID, inc.MergedInto = 43, 42
	return inc
}

func marshalBlocks(t *testing.T, blocks []slackgo.Block) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(blocks); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestIncidentBlocksGolden(t *testing.T) {
	hostile := checkoutIncident()
	hostile.ID = 7
	hostile.Title = "<!channel> 5xx & rising on <https://evil.example|checkout> " + strings.Repeat("très long ", 20)
	hostile.Service = "pay<ments>&co"
	hostile.Priority = escalation.P0

	cases := []struct {
		name string
		inc  *escalation.Incident
	}{
		{"triggered", checkoutIncident()},
		{"acknowledged", acknowledgedIncident()},
		{"resolved", resolvedIncident()},
		{"snoozed", snoozedIncident()},
		{"merged", mergedIncident()},
		{"hostile_title", hostile},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := marshalBlocks(t, IncidentBlocks(tc.inc))
			path := filepath.Join("testdata", "incident_"+tc.name+".golden.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("blocks differ from %s (run with -update and review the diff)\n got:\n%s", path, got)
			}
			// Slack's client library reads it back as the same blocks.
			var back slackgo.Blocks
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatalf("blocks do not parse as Block Kit: %v", err)
			}
			if len(back.BlockSet) != len(IncidentBlocks(tc.inc)) {
				t.Errorf("round trip has %d blocks", len(back.BlockSet))
			}
		})
	}
}

// rendered is the part of a rendering the behaviour tests look at.
type rendered struct {
	header  string
	fields  []string
	buttons []string // "action_id=value"
}

func render(t *testing.T, inc *escalation.Incident) rendered {
	t.Helper()
	var r rendered
	for _, b := range IncidentBlocks(inc) {
		switch b := b.(type) {
		case *slackgo.HeaderBlock:
			r.header = b.Text.Text
		case *slackgo.SectionBlock:
			for _, f := range b.Fields {
				r.fields = append(r.fields, f.Text)
			}
		case *slackgo.ActionBlock:
			for _, e := range b.Elements.ElementSet {
				btn, ok := e.(*slackgo.ButtonBlockElement)
				if !ok {
					t.Fatalf("action element %T", e)
				}
				r.buttons = append(r.buttons, btn.ActionID+"="+btn.Value)
			}
		default:
			t.Fatalf("unexpected block %T", b)
		}
	}
	return r
}

func TestButtonsFollowTheStatus(t *testing.T) {
	for _, tc := range []struct {
		inc  *escalation.Incident
		want string
	}{
		{checkoutIncident(), "ack=42 resolve=42 escalate=42"},
		{acknowledgedIncident(), "resolve=42 escalate=42"},
		{snoozedIncident(), "ack=42 resolve=42 escalate=42"},
		{resolvedIncident(), ""},
		{mergedIncident(), ""},
	} {
		if got := strings.Join(render(t, tc.inc).buttons, " "); got != tc.want {
			t.Errorf("%s: buttons %q, want %q", IncidentText(tc.inc), got, tc.want)
		}
	}
}

func TestIncidentFacts(t *testing.T) {
	r := render(t, resolvedIncident())
	if r.header != "#42 HighErrorRate on checkout-api" {
		t.Errorf("header = %q", r.header)
	}
	want := []string{
		"*Status*\n:white_check_mark: Resolved",
		"*Priority*\nP1",
		"*Service*\ncheckout-api",
		"*Started*\n2025-03-14 01:07 UTC", // created 02:07 CET
		"*Acknowledged by*\nalice, 2025-03-14 01:12 UTC",
		"*Resolved by*\nbob, 2025-03-14 01:40 UTC",
	}
	if strings.Join(r.fields, "|") != strings.Join(want, "|") {
		t.Errorf("fields\n got %q\nwant %q", r.fields, want)
	}
	if r := render(t, checkoutIncident()); len(r.fields) != 4 {
		t.Errorf("a triggered incident names nobody: %q", r.fields)
	}
}

func TestIncidentMarkupIsEscaped(t *testing.T) {
	inc := checkoutIncident()
	inc.Service = "<!here>"
	inc.AcknowledgedBy = "a&b"
	inc.Title = "<!channel> down"
	r := render(t, inc)
	for _, f := range r.fields {
		if strings.Contains(f, "<!") {
			t.Errorf("field %q holds live markup", f)
		}
	}
	if text := IncidentText(inc); strings.Contains(text, "<!") || !strings.Contains(text, "&lt;!channel&gt; down") {
		t.Errorf("fallback text = %q", text)
	}
	// A header is plain text: Slack shows it as written.
	if r.header != "#42 <!channel> down" {
		t.Errorf("header = %q", r.header)
	}
}

func TestLongTitleFitsTheHeader(t *testing.T) {
	inc := checkoutIncident()
	inc.Title = strings.Repeat("é", 400)
	h := render(t, inc).header
	if n := utf8.RuneCountInString(h); n != maxHeaderChars {
		t.Errorf("header is %d characters", n)
	}
	if !strings.HasPrefix(h, "#42 éé") || !strings.HasSuffix(h, "…") || !utf8.ValidString(h) {
		t.Errorf("header cut badly: %q", h)
	}
}

func TestIncidentText(t *testing.T) {
	for _, tc := range []struct {
		inc  *escalation.Incident
		want string
	}{
		{checkoutIncident(), "[P1] #42 HighErrorRate on checkout-api (checkout-api): triggered"},
		{acknowledgedIncident(), "[P1] #42 HighErrorRate on checkout-api (checkout-api): acknowledged by alice"},
		{resolvedIncident(), "[P1] #42 HighErrorRate on checkout-api (checkout-api): resolved by bob"},
		{snoozedIncident(), "[P1] #42 HighErrorRate on checkout-api (checkout-api): acknowledged by alice, snoozed until 2025-03-14 03:12 UTC"},
		{mergedIncident(), "[P1] #43 HighErrorRate on checkout-api (checkout-api): resolved by bob, merged into #42"},
	} {
		if got := IncidentText(tc.inc); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
