package scale

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/store"
)

// BenchmarkCallStep: the cost of a call step (a contact rule on the voice
// channel) during a storm, with and without a call limit on the person.
// 20,000 incidents each paged the person by SMS a minute ago; now their
// calls fall due and Engine.Tick takes them, 100 per transaction. With a
// call limit, every call step first reads the person's pages created
// within the limit's window (PagesTo): here all 20,000 SMS pages. One run
// is one measurement: -benchtime 1x.
func BenchmarkCallStep(b *testing.B) {
	for _, c := range []struct {
		name  string
		limit escalation.CallLimit
	}{
		{"limit=none", escalation.CallLimit{}},
		{"limit=5per15m", escalation.CallLimit{Max: 5, Window: 15 * time.Minute}},
	} {
		b.Run(c.name, func(b *testing.B) { measureCallStep(b, c.limit) })
	}
}

func measureCallStep(b *testing.B, limit escalation.CallLimit) {
	const incidents, steps = 20_000, 200
	ctx := b.Context()
	path := filepath.Join(b.TempDir(), "klaxon.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	cat := catalog(0)
	p := cat.People[person]
	p.Rules = []escalation.ContactRule{{Channel: escalation.ChannelSMS}, {Channel: escalation.ChannelVoice, After: time.Minute}}
	p.CallLimit = limit
	clock := escalation.NewManualClock(time.Now().Round(0))
	rec := newRecorder(incidents)
	eng, err := escalation.New(escalation.Options{Store: db, Catalog: cat, Clock: clock, Pagers: rec.pagers(), Logger: warnLogger()})
	if err != nil {
		b.Fatal(err)
	}
	const batch = 100
	err = ingestBatches(ctx, eng, solo, incidents/batch, 4, func(i int) []escalation.Alert {
		out := make([]escalation.Alert, batch)
		for j := range out {
			out[j] = alert(fmt.Sprintf("k%07d", i*batch+j), 0, 0)
		}
		return out
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := eng.RunDue(ctx); err != nil {
		b.Fatal(err)
	}
	if n := len(rec.all()); n != incidents {
		b.Fatalf("%d SMS pages sent, want %d", n, incidents)
	}
	clock.Advance(time.Minute)

	b.ResetTimer()
	began := time.Now()
	done := 0
	for done < steps {
		n, err := eng.Tick(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			b.Fatalf("nothing due after %d steps", done)
		}
		done += n
	}
	took := time.Since(began)
	b.StopTimer()
	per := took / time.Duration(done)
	b.Logf("%d call steps in %s: %.2f ms each, %.0f steps/s", done, took.Round(time.Millisecond), ms(per), float64(done)/took.Seconds())
	b.ReportMetric(ms(per), "ms/step")
	b.ReportMetric(float64(done)/took.Seconds(), "steps/s")
}
