package config

import "strings"

// Problem is one thing wrong with a config, at a path such as
// "services[2].policy" (empty for the document as a whole).
type Problem struct {
	Path    string
	Message string
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Problems is every problem Parse found; it is the error Parse returns for
// an invalid config.
type Problems []Problem

// Error lists the problems, one "path: message" per line.
func (ps Problems) Error() string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	return b.String()
}
