package status

import (
	"encoding/json"
	"testing"
)

func TestJSONIsTheSnapshotAsShown(t *testing.T) {
	b, err := mustModel(t, ipv4Outage()).json()
	if err != nil {
		t.Fatal(err)
	}

	var doc jsonDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Status != (jsonOverall{PartialOutage, "Partial outage"}) || doc.Page.Name != "Example" || !doc.Generated.Equal(at("2025-07-09T14:18:02Z")) {
		t.Errorf("status %+v, page %+v, generated %s", doc.Status, doc.Page, doc.Generated)
	}
	if len(doc.Components) != 4 || len(doc.Incidents) != 2 || doc.Incidents[0].ID != "42" || doc.Incidents[0].Updates[0].ID != "7" {
		t.Errorf("%d components, incidents %+v; want 4, and both incidents newest first", len(doc.Components), doc.Incidents)
	}

	// Empty lists are lists, for clients that iterate over them.
	b, err = mustModel(t, Snapshot{Page: Page{Name: "Empty"}, Generated: at("2025-07-09T14:18:02Z")}).json()
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["components"].([]any); !ok {
		t.Errorf("components: %v, want []", raw["components"])
	}
	if _, ok := raw["incidents"].([]any); !ok {
		t.Errorf("incidents: %v, want []", raw["incidents"])
	}
}
