package config

import (
	"slices"
	"strings"
)

// Checks are what only the adapters can judge of a config, whose code
// config cannot import: whether a gateway's templates render
// (bot/smsgateway), a generic integration's field paths (ingest), a watch
// target's names (watch). Run inside validation, they are reported with
// everything else in one run, each at its entry in config order, rather
// than after the rest is fixed. Each func is given one entry with its
// defaults applied and returns problems with paths within it ("url",
// "headers.Authorization"); a nil func checks nothing.
type Checks struct {
	SMSGateway    func(SMSGateway) Problems
	GenericFields func(GenericFields) Problems
	WatchTarget   func(WatchTarget) Problems
}

// adapter reports an adapter's problems under path, after the entry's own.
// One at or under a path already reported would only say it again (a url
// that is required, a port out of range), and is dropped.
func (v *validator) adapter(path string, ps Problems) {
	for _, p := range ps {
		at := path
		if p.Path != "" {
			at += "." + p.Path
		}
		if slices.ContainsFunc(v.problems, func(q Problem) bool { return within(at, q.Path) }) {
			continue
		}
		v.add(at, "%s", p.Message)
	}
}

// within reports whether path is at or under parent.
func within(path, parent string) bool {
	rest, ok := strings.CutPrefix(path, parent)
	return ok && parent != "" && (rest == "" || rest[0] == '.' || rest[0] == '[')
}
