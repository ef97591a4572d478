// Package bot is what humans talk to Klaxon through: one command grammar for
// chat, SMS replies and the like, and Execute, which turns a command from a
// known person into an engine call and a one-line reply.
package bot

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Verb is a command's action.
type Verb string

// Verbs.
const (
	VerbAck     Verb = "ack"
	VerbResolve Verb = "resolve"
	VerbHelp    Verb = "help"
)

// Command is a parsed command line.
type Command struct {
	Verb Verb
	// IncidentID is 0 when none was given ("ack" alone means the incident
	// the person was paged for last).
	IncidentID int64
	// All: "ack all".
	All  bool
	Note string
}

// ParseError explains what was wrong and what to type instead.
type ParseError struct{ Msg string }

func (e *ParseError) Error() string { return e.Msg }

func parseErr(format string, args ...any) error {
	return &ParseError{Msg: fmt.Sprintf(format, args...)}
}

var verbAliases = map[string]Verb{
	"ack": VerbAck, "a": VerbAck, "acknowledge": VerbAck, "1": VerbAck,
	"resolve": VerbResolve, "r": VerbResolve, "res": VerbResolve, "close": VerbResolve, "2": VerbResolve,
	"help": VerbHelp, "?": VerbHelp,
}

// Usage is the short help every error points to.
const Usage = `commands: "ack [ID|all]", "resolve ID [note]", "help"`

// Parse reads a command. It accepts a leading "/klaxon", any case, and the
// short forms people type half asleep on a phone: "a42", "42a", "ack".
func Parse(text string) (Command, error) {
	fields := strings.Fields(text)
	if len(fields) > 0 && strings.EqualFold(fields[0], "/klaxon") {
		fields = fields[1:]
	}
	if len(fields) == 0 {
		return Command{}, parseErr("empty command; %s", Usage)
	}
	head := strings.ToLower(fields[0])
	rest := fields[1:]
	if verb, id, ok := splitGlued(head); ok {
		head = verb
		rest = append([]string{id}, rest...)
	}
	verb, ok := verbAliases[head]
	if !ok {
		return Command{}, parseErr("unknown command %q; %s", fields[0], Usage)
	}
	cmd := Command{Verb: verb}
	switch verb {
	case VerbHelp:
		return cmd, nil
	case VerbAck:
		if len(rest) == 0 {
			return cmd, nil
		}
		if strings.EqualFold(rest[0], "all") {
			cmd.All = true
		} else {
			id, err := parseID(rest[0])
			if err != nil {
				return Command{}, parseErr("%v; try \"ack 42\" or \"ack all\"", err)
			}
			cmd.IncidentID = id
		}
		if len(rest) > 1 {
			return Command{}, parseErr("ack takes one incident ID or \"all\"; try \"ack 42\"")
		}
		return cmd, nil
	case VerbResolve:
		if len(rest) == 0 {
			return cmd, nil
		}
		id, err := parseID(rest[0])
		if err != nil {
			return Command{}, parseErr("%v; try \"resolve 42 fixed by rollback\"", err)
		}
		cmd.IncidentID = id
		cmd.Note = strings.Join(rest[1:], " ")
		return cmd, nil
	}
	return Command{}, parseErr("unknown command %q; %s", fields[0], Usage)
}

// splitGlued splits "a42" and "42a" into verb and id.
func splitGlued(s string) (verb, id string, ok bool) {
	i := strings.IndexFunc(s, unicode.IsDigit)
	if i <= 0 {
		// Leading digits: "42a".
		j := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsDigit(r) })
		if i == 0 && j > 0 && strings.IndexFunc(s[j:], unicode.IsDigit) < 0 {
			return s[j:], s[:j], true
		}
		return "", "", false
	}
	if strings.IndexFunc(s[i:], func(r rune) bool { return !unicode.IsDigit(r) }) >= 0 {
		return "", "", false
	}
	return s[:i], s[i:], true
}

func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%q is not an incident ID", s)
	}
	return id, nil
}
