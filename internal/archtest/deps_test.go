// Package archtest holds the dependency rule of ARCHITECTURE.md as a test:
// imports point inward, cmd/klaxon → adapters → escalation → stdlib.
package archtest

import (
	"go/build"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/klaxonhq/klaxon"

// allowed says whether package pkg (module-relative) may import dep
// (module-relative) in non-test code.
func allowed(pkg, dep string) bool {
	switch {
	case pkg == "escalation":
		return dep == "escalation/oncall" // the core is stdlib only, its pure maths included
	case pkg == "escalation/oncall":
		return false // pure maths under the core: stdlib only
	case strings.HasPrefix(pkg, "cmd/"), pkg == "scenario", pkg == "crashtest":
		return true // the wiring and the whole-system tests see everything
	case dep == "escalation", dep == "escalation/oncall":
		return true // the core, and its pure maths the catalog is made of
	case strings.HasPrefix(pkg, "escalation/"):
		return false
	case strings.HasPrefix(dep, "internal/"):
		return !strings.HasPrefix(pkg, "internal/") || pkg == dep
	case strings.HasPrefix(pkg, dep+"/"):
		return true // an adapter uses its parent's shared part (bot/twilio → bot)
	}
	return false // siblings never import each other
}

func TestDependencyRule(t *testing.T) {
	root := filepath.Join("..", "..")
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
			return filepath.SkipDir
		}
		p, err := build.ImportDir(path, 0)
		if err != nil {
			return nil // no Go files here
		}
		rel, _ := filepath.Rel(root, path)
		pkg := filepath.ToSlash(rel)
		checked++
		for _, imp := range p.Imports {
			dep, ok := strings.CutPrefix(imp, module+"/")
			if !ok {
				if pkg == "escalation" && strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
					t.Errorf("escalation imports %s: the core is stdlib only", imp)
				}
				continue
			}
			if !allowed(pkg, dep) {
				t.Errorf("%s imports %s: imports point inward (cmd → adapters → escalation); siblings never import each other", pkg, dep)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("checked only %d packages; is the walk rooted at the module?", checked)
	}
}

func TestRuleCatchesViolations(t *testing.T) {
	for _, tt := range []struct {
		pkg, dep string
		ok       bool
	}{
		{"ingest", "escalation", true},
		{"config", "escalation/oncall", true},
		{"bot/twilio", "bot", true},
		{"bot/twilio", "internal/web", true},
		{"ingest", "store", false},
		{"store", "ingest", false},
		{"escalation", "store", false},
		{"escalation", "escalation/oncall", true},
		{"escalation/oncall", "escalation", false},
		{"escalation/escalationtest", "escalation", true},
		{"escalation/escalationtest", "store", false},
		{"internal/web", "escalation", true},
		{"internal/web", "internal/other", false},
		{"cmd/klaxon", "store", true},
	} {
		if got := allowed(tt.pkg, tt.dep); got != tt.ok {
			t.Errorf("allowed(%s → %s) = %v, want %v", tt.pkg, tt.dep, got, tt.ok)
		}
	}
}
