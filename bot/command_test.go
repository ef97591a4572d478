package bot

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Command
	}{
		{"ack 42", Command{Verb: VerbAck, IncidentID: 42}},
		{"/klaxon ack #42", Command{Verb: VerbAck, IncidentID: 42}},
		{"ACK", Command{Verb: VerbAck}},
		{"  a42 ", Command{Verb: VerbAck, IncidentID: 42}},
		{"A42", Command{Verb: VerbAck, IncidentID: 42}},
		{"42a", Command{Verb: VerbAck, IncidentID: 42}},
		{"1", Command{Verb: VerbAck}},
		{"ack all", Command{Verb: VerbAck, All: true}},
		{"acknowledge 7", Command{Verb: VerbAck, IncidentID: 7}},
		{"resolve 42 rolled back the deploy", Command{Verb: VerbResolve, IncidentID: 42, Note: "rolled back the deploy"}},
		{"R42", Command{Verb: VerbResolve, IncidentID: 42}},
		{"2", Command{Verb: VerbResolve}},
		{"help", Command{Verb: VerbHelp}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseErrorsSayWhatToType(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `empty command`},
		{"   ", `empty command`},
		{"restart db", `unknown command "restart"`},
		{"ack forty-two", `"forty-two" is not an incident ID; try "ack 42"`},
		{"ack 0", `"0" is not an incident ID`},
		{"ack 1 2", `ack takes one incident ID`},
		{"resolve -3", `"-3" is not an incident ID; try "resolve 42`},
		{"a4b2", `unknown command "a4b2"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error = %v, want a ParseError", tt.in, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%q) = %q, want it to contain %q", tt.in, err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"ack 42", "a42", "42a", "resolve 9 note", "/klaxon ack all", "1", "", "ack 99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cmd, err := Parse(s)
		if err != nil {
			return
		}
		if cmd.IncidentID < 0 || cmd.Verb == "" {
			t.Fatalf("Parse(%q) = %+v", s, cmd)
		}
	})
}
