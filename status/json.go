package status

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// jsonDoc is Klaxon's own JSON of the page: the snapshot as the page shows
// it, with the overall status spelled out.
type jsonDoc struct {
	Page       Page        `json:"page"`
	Status     jsonOverall `json:"status"`
	Components []Component `json:"components"`
	// Incidents are the open ones and those of the last 90 days, newest
	// first.
	Incidents []Incident `json:"incidents"`
	Generated time.Time  `json:"generated_at"`
}

type jsonOverall struct {
	Status      ComponentStatus `json:"status"`
	Description string          `json:"description"`
}

func (m *model) json() ([]byte, error) {
	doc := jsonDoc{
		Page:       m.page,
		Status:     jsonOverall{Status: m.overall, Description: m.overall.banner()},
		Components: nonNil(m.components),
		Incidents:  slices.Clone(nonNil(m.incidents)),
		Generated:  m.generated,
	}
	for i, inc := range doc.Incidents {
		inc.Components, inc.Updates = nonNil(inc.Components), nonNil(inc.Updates)
		doc.Incidents[i] = inc
	}
	return encodeJSON(doc)
}

// encodeJSON writes v indented, without escaping <, > and &: the documents
// are served as JSON, never inlined into HTML.
func encodeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("status page: encoding JSON: %w", err)
	}
	return b.Bytes(), nil
}

// nonNil makes an empty list encode as [] rather than null, which clients
// iterating over it expect.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
