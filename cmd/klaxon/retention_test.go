package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

type panickyPruner struct{}

func (panickyPruner) Prune(context.Context, time.Duration) (escalation.Deleted, error) {
	panic("corrupt record")
}

// A prune that panics (a corrupt record, say) is logged as an error and
// tried again later; the pages go on.
func TestAPanicInAPruneIsAnErrorNotACrash(t *testing.T) {
	err := pruneOnce(t.Context(), panickyPruner{}, 90*24*time.Hour)
	if err == nil || !strings.Contains(err.Error(), "corrupt record") {
		t.Fatalf("err = %v", err)
	}
}
