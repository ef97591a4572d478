package discord

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

	"github.com/bwmarrin/discordgo"

	"github.com/klaxonhq/klaxon/escalation"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// incidentAt builds incident #42 in the given state. It started at 15:05
// Paris time, which the message must show as 14:05 UTC.
func incidentAt(status escalation.Status) *escalation.Incident {
	paris := time.FixedZone("CET", 3600)
	inc := &escalation.Incident{
		ID:        42,
		Service:   "checkout-api",
		Title:     "HighErrorRate on checkout-api",
		Status:    status,
		Priority:  escalation.P1,
		CreatedAt: time.Date(2026, 3, 1, 15, 5, 9, 0, paris),
	}
	switch status {
	case escalation.StatusAcknowledged:
		inc.AcknowledgedBy = "alice"
	case escalation.StatusResolved:
		inc.AcknowledgedBy, inc.ResolvedBy = "alice", "bob"
	}
	return inc
}

// renderJSON is the message as Discord receives it.
func renderJSON(t *testing.T, inc *escalation.Incident) []byte {
	t.Helper()
	embeds, components := IncidentMessage(inc)
	b, err := json.MarshalIndent(map[string]any{"embeds": embeds, "components": components}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
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
		t.Errorf("%s differs (run with -update after checking):\n got %s\nwant %s", name, got, want)
	}
}

func TestIncidentMessage(t *testing.T) {
	for _, status := range []escalation.Status{escalation.StatusTriggered, escalation.StatusAcknowledged, escalation.StatusResolved} {
		t.Run(string(status), func(t *testing.T) {
			checkGolden(t, "incident_"+string(status)+".golden.json", renderJSON(t, incidentAt(status)))
		})
	}
}

// buttonIDs lists the custom IDs of a message's buttons.
func buttonIDs(components []discordgo.MessageComponent) []string {
	var ids []string
	for _, c := range components {
		row, ok := c.(discordgo.ActionsRow)
		if !ok {
			continue
		}
		for _, b := range row.Components {
			if b, ok := b.(discordgo.Button); ok {
				ids = append(ids, b.CustomID)
			}
		}
	}
	return ids
}

func TestButtonsFollowTheIncident(t *testing.T) {
	cases := []struct {
		status escalation.Status
		want   string
	}{
		{escalation.StatusTriggered, "ack:42 resolve:42 escalate:42"},
		{escalation.StatusAcknowledged, "resolve:42 escalate:42"},
		{escalation.StatusResolved, ""},
	}
	for _, tc := range cases {
		embeds, components := IncidentMessage(incidentAt(tc.status))
		if got := strings.Join(buttonIDs(components), " "); got != tc.want {
			t.Errorf("%s: buttons %q, want %q", tc.status, got, tc.want)
		}
		if components == nil {
			t.Errorf("%s: components is nil; an edit would keep the old buttons", tc.status)
		}
		if len(embeds) != 1 || embeds[0].Title != "#42 HighErrorRate on checkout-api" {
			t.Errorf("%s: embeds %+v", tc.status, embeds)
		}
	}
}

func TestIncidentMessageStaysWithinDiscordLimits(t *testing.T) {
	inc := incidentAt(escalation.StatusTriggered)
	inc.Title = strings.Repeat("é", 300)
	inc.Service = "  "
	inc.CreatedAt = time.Time{}
	embeds, _ := IncidentMessage(inc)
	e := embeds[0]
	if n := utf8.RuneCountInString(e.Title); n != maxEmbedTitle || !strings.HasSuffix(e.Title, "…") || !strings.HasPrefix(e.Title, "#42 éé") {
		t.Errorf("title is %d characters: %.20q...", n, e.Title)
	}
	for _, f := range e.Fields {
		if strings.TrimSpace(f.Value) == "" {
			t.Errorf("field %q is empty; Discord rejects the message", f.Name)
		}
	}
}
