package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/klaxonhq/klaxon/escalation"
)

// consolePager is the built-in pager of a config without providers: it
// writes every page to the log, so a newcomer sees escalation happen with no
// accounts anywhere.
type consolePager struct {
	log *slog.Logger
}

func (c consolePager) Send(ctx context.Context, p escalation.Page) (escalation.Delivery, error) {
	c.log.InfoContext(ctx, "PAGE "+string(p.Channel)+" → "+p.Person,
		"incident_id", p.IncidentID, "page_id", p.ID, "person", p.Person, "channel", p.Channel,
		"to", p.Address, "attempt", p.Attempts, "text", p.Text)
	return escalation.Delivery{Provider: "console", ProviderID: fmt.Sprintf("console-%d", p.ID)}, nil
}
