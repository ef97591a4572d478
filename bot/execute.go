package bot

import (
	"context"
	"errors"
	"fmt"

	"github.com/klaxonhq/klaxon/escalation"
)

// Engine is what commands need from the core.
type Engine interface {
	Acknowledge(ctx context.Context, id int64, actor escalation.Actor) (*escalation.Incident, error)
	Resolve(ctx context.Context, id int64, actor escalation.Actor, note string) (*escalation.Incident, error)
	Incidents(ctx context.Context, status escalation.Status, limit int) ([]*escalation.Incident, error)
	LatestPageTo(ctx context.Context, person string) (*escalation.Page, error)
}

// Execute runs a command for a known person and returns the one-line reply.
// Errors are coded (escalation.Error) and their messages are fit to show the
// person.
func Execute(ctx context.Context, eng Engine, actor escalation.Actor, cmd Command) (string, error) {
	switch cmd.Verb {
	case VerbHelp:
		return Usage, nil
	case VerbAck:
		if cmd.All {
			return ackAll(ctx, eng, actor)
		}
		id, err := target(ctx, eng, actor, cmd.IncidentID)
		if err != nil {
			return "", err
		}
		inc, err := eng.Acknowledge(ctx, id, actor)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Acknowledged #%d %s. Paging stopped.", inc.ID, inc.Title), nil
	case VerbResolve:
		id, err := target(ctx, eng, actor, cmd.IncidentID)
		if err != nil {
			return "", err
		}
		inc, err := eng.Resolve(ctx, id, actor, cmd.Note)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Resolved #%d %s.", inc.ID, inc.Title), nil
	}
	return "", escalation.Errorf(escalation.CodeInvalid, "unknown command; %s", Usage)
}

// target is the incident a command means: the given id, or the one the
// person was paged for last.
func target(ctx context.Context, eng Engine, actor escalation.Actor, id int64) (int64, error) {
	if id != 0 {
		return id, nil
	}
	p, err := eng.LatestPageTo(ctx, actor.Name)
	if errors.Is(err, escalation.ErrNotFound) {
		return 0, escalation.Errorf(escalation.CodeInvalid, "you have not been paged recently; name the incident, e.g. \"ack 42\"")
	}
	if err != nil {
		return 0, err
	}
	return p.IncidentID, nil
}

func ackAll(ctx context.Context, eng Engine, actor escalation.Actor) (string, error) {
	incs, err := eng.Incidents(ctx, escalation.StatusTriggered, 0)
	if err != nil {
		return "", err
	}
	if len(incs) == 0 {
		return "No triggered incidents.", nil
	}
	n := 0
	for _, inc := range incs {
		if _, err := eng.Acknowledge(ctx, inc.ID, actor); err != nil {
			// Another responder may have acked meanwhile; the rest still count.
			if escalation.ErrorCode(err) == escalation.CodeConflict {
				continue
			}
			return "", fmt.Errorf("acknowledging #%d: %w", inc.ID, err)
		}
		n++
	}
	return fmt.Sprintf("Acknowledged %d incident(s). Paging stopped.", n), nil
}
