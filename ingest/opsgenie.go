package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon/escalation"
)

// Opsgenie Alert API limits, which Opsgenie enforces with a 422.
const (
	ogMaxMessage     = 130
	ogMaxAlias       = 512
	ogMaxDescription = 15000
)

// Opsgenie alert actions Klaxon serves besides create.
const (
	OpsgenieClose       = "close"
	OpsgenieAcknowledge = "acknowledge"
)

// ogCreate is a create-alert request. Responders, visibleTo, actions, user
// and note are ignored: who gets paged is the service's policy.
type ogCreate struct {
	Message     string            `json:"message"`
	Alias       string            `json:"alias"`
	Description string            `json:"description"`
	Tags        []string          `json:"tags"`
	Details     map[string]string `json:"details"`
	Entity      string            `json:"entity"`
	Source      string            `json:"source"`
	Priority    string            `json:"priority"`
}

// ogActionBody is the optional body of close and acknowledge; Klaxon
// checks that it is well formed and records nothing from it.
type ogActionBody struct {
	User   string `json:"user"`
	Source string `json:"source"`
	Note   string `json:"note"`
}

// ParseOpsgenieCreate parses an Opsgenie Alert API create request
// (POST /v2/alerts) into one firing alert:
//
//	alias        dedup key (a fresh random one when absent, as Opsgenie assigns)
//	message      summary
//	description  details
//	priority     severity: P1 critical, P2 error, P3 warning, P4 and P5 info;
//	             absent, the service's default priority applies
//	details      labels
//	tags         the label "tags", comma-separated
//	entity       source (else the request's source field)
//
// A body that is not a JSON object gives a *MalformedEventError (Opsgenie's
// 400); a request that breaks the API's rules gives an *InvalidEventError
// listing every problem as "field: reason" (Opsgenie's 422).
func ParseOpsgenieCreate(body []byte) (Batch, error) {
	var probs problems
	var c ogCreate
	if err := ogDecode(body, &c, &probs); err != nil {
		return Batch{}, err
	}
	switch n := utf8.RuneCountInString(c.Message); {
	case strings.TrimSpace(c.Message) == "":
		probs.add("message: required")
	case n > ogMaxMessage:
		probs.add("message: must be at most %d characters", ogMaxMessage)
	}
	if utf8.RuneCountInString(c.Alias) > ogMaxAlias {
		probs.add("alias: must be at most %d characters", ogMaxAlias)
	}
	if utf8.RuneCountInString(c.Description) > ogMaxDescription {
		probs.add("description: must be at most %d characters", ogMaxDescription)
	}
	severity, ok := prioritySeverity(c.Priority)
	if !ok && c.Priority != "" {
		probs.add("priority: %s is not one of P1, P2, P3, P4, P5", clip(c.Priority))
	}
	if len(probs) > 0 {
		return Batch{}, &InvalidEventError{Problems: probs.list()}
	}

	a := escalation.Alert{
		DedupKey: c.Alias,
		State:    escalation.AlertFiring,
		Severity: severity,
		Summary:  strings.TrimSpace(c.Message),
		Details:  strings.TrimSpace(c.Description),
		Source:   strings.TrimSpace(c.Entity),
	}
	if strings.TrimSpace(a.DedupKey) == "" {
		a.DedupKey = newDedupKey()
	}
	if a.Source == "" {
		a.Source = strings.TrimSpace(c.Source)
	}
	for k, v := range c.Details {
		if v = strings.TrimSpace(v); k != "" && v != "" && len(v) <= pdMaxLabelValue {
			if a.Labels == nil {
				a.Labels = map[string]string{}
			}
			a.Labels[k] = v
		}
	}
	var tags []string
	for _, t := range c.Tags {
		if t = strings.TrimSpace(t); t != "" && !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	if _, taken := a.Labels["tags"]; len(tags) > 0 && !taken {
		if a.Labels == nil {
			a.Labels = map[string]string{}
		}
		a.Labels["tags"] = strings.Join(tags, ",")
	}
	return Batch{Alerts: []escalation.Alert{a}}, nil
}

// ParseOpsgenieAction parses a close or acknowledge request
// (POST /v2/alerts/{identifier}/close|acknowledge) into a resolved or
// acknowledged alert whose dedup key is the alias. Klaxon knows alerts by
// alias only: Opsgenie's alert ids and tiny ids never exist here, so any
// identifierType but alias, including none (Opsgenie's default is id), is
// a CodeInvalid error. The body is optional; when present it must be a JSON
// object (*MalformedEventError) of the documented fields
// (*InvalidEventError).
func ParseOpsgenieAction(action, identifier, identifierType string, body []byte) (Batch, error) {
	var state escalation.AlertState
	switch action {
	case OpsgenieClose:
		state = escalation.AlertResolved
	case OpsgenieAcknowledge:
		state = escalation.AlertAcknowledged
	default:
		return Batch{}, escalation.Errorf(escalation.CodeInvalid, "action %s is not close or acknowledge", clip(action))
	}
	switch identifierType {
	case "alias":
	case "":
		return Batch{}, escalation.Errorf(escalation.CodeInvalid,
			"identifierType is required and must be alias: Klaxon identifies alerts by alias only (Opsgenie's default is id)")
	default:
		return Batch{}, escalation.Errorf(escalation.CodeInvalid,
			"identifierType %s is not supported: Klaxon identifies alerts by alias only (identifierType=alias)", clip(identifierType))
	}
	var probs problems
	if len(bytes.TrimSpace(body)) > 0 {
		var b ogActionBody
		if err := ogDecode(body, &b, &probs); err != nil {
			return Batch{}, err
		}
	}
	switch {
	case strings.TrimSpace(identifier) == "":
		probs.add("identifier: required")
	case utf8.RuneCountInString(identifier) > ogMaxAlias:
		probs.add("identifier: an alias is at most %d characters", ogMaxAlias)
	}
	if len(probs) > 0 {
		return Batch{}, &InvalidEventError{Problems: probs.list()}
	}
	return Batch{Alerts: []escalation.Alert{{DedupKey: identifier, State: state}}}, nil
}

// ogDecode decodes an Opsgenie request body into v. A syntax error or a
// body that is not an object is malformed; a field of the wrong type is one
// more problem with a request that was otherwise decoded.
func ogDecode(body []byte, v any, probs *problems) error {
	err := decodeJSON(body, v)
	if err == nil {
		return nil
	}
	var typ *json.UnmarshalTypeError
	if !errors.As(err, &typ) || typ.Field == "" {
		return &MalformedEventError{Problem: jsonProblem(err)}
	}
	probs.add("%s", jsonProblem(err))
	return nil
}
