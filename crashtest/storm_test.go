package crashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The alert storm: each alert fires once into its own incident (a group key
// of its own), is re-sent unchanged or updated a few times, and most are
// resolved a few seconds later, so the incidents still paging at the end
// stay few enough for the runner to keep up on two cores.
const (
	stormAlerts   = 600
	stormSpan     = 9 * time.Second // new alerts fire over this
	stormSenders  = 8
	resolvedShare = 0.8
)

type postKind int

const (
	firePost    postKind = iota // first firing post: opens the incident
	repeatPost                  // unchanged re-send
	updatePost                  // new summary: a write
	resolvePost                 // the alert resolves, and so does its incident
)

// post is one webhook of the storm's script.
type post struct {
	at    time.Duration // after the storm's start
	alert int
	kind  postKind
	rev   int // the summary revision it carries
}

// stormScript is the storm, as each sender's posts in time order. One
// alert's posts all go through one sender, so they arrive in order.
func stormScript(rng *rand.Rand) [][]post {
	script := make([][]post, stormSenders)
	for a := range stormAlerts {
		at := time.Duration(rng.Int64N(int64(stormSpan)))
		posts := []post{{at: at, alert: a, kind: firePost}}
		rev := 0
		for range rng.IntN(4) {
			at += 200*time.Millisecond + time.Duration(rng.Int64N(int64(time.Second)))
			kind := repeatPost
			if rng.IntN(2) == 0 {
				kind, rev = updatePost, rev+1
			}
			posts = append(posts, post{at: at, alert: a, kind: kind, rev: rev})
		}
		if rng.Float64() < resolvedShare {
			at += time.Second + time.Duration(rng.Int64N(int64(3*time.Second)))
			posts = append(posts, post{at: at, alert: a, kind: resolvePost, rev: rev})
		}
		s := a % stormSenders
		script[s] = append(script[s], posts...)
	}
	for _, posts := range script {
		slices.SortStableFunc(posts, func(x, y post) int { return int(x.at - y.at) })
	}
	return script
}

// answered is what the monitor was told about one alert: only posts
// answered 2xx count.
type answered struct {
	fired    bool  // a firing post was attempted
	acked    bool  // some post was answered 2xx
	rev      int   // the revision of the last post answered 2xx
	resolved bool  // the last post answered 2xx resolved it
	incident int64 // the incident a 2xx named (0: none did)
	// moved is set when two 2xx answers named different incidents;
	// ignored when a 2xx said Klaxon did not know the alert at all.
	moved, ignored bool
}

// storm runs the senders: each posts its script against Klaxon and re-sends
// a post until it is answered 2xx, as Alertmanager does, whether Klaxon is
// down, dying or back.
type storm struct {
	base   string
	start  time.Time
	client *http.Client
	// alerts is indexed by alert; each entry is written only by the
	// sender that owns the alert, and read after done.
	alerts []answered

	posted, acked, failed atomic.Int64
	done                  chan struct{}
	err                   error // the first sender error, read after done
}

func startStorm(ctx context.Context, base string, script [][]post) *storm {
	s := &storm{
		base:  base,
		start: time.Now(),
		client: &http.Client{
			Timeout:   10 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: stormSenders},
		},
		alerts: make([]answered, stormAlerts),
		done:   make(chan struct{}),
	}
	var wg sync.WaitGroup
	var once sync.Once
	for _, posts := range script {
		wg.Go(func() {
			if err := s.send(ctx, posts); err != nil {
				once.Do(func() { s.err = err })
			}
		})
	}
	go func() {
		wg.Wait()
		s.client.CloseIdleConnections()
		close(s.done)
	}()
	return s
}

func (s *storm) send(ctx context.Context, posts []post) error {
	for _, p := range posts {
		// The storm has a shape in time: early incidents escalate while
		// later alerts are still arriving.
		if wait := time.Until(s.start.Add(p.at)); wait > 0 {
			timer := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				timer.Stop()
				return ctx.Err()
			case <-timer.C:
			}
		}
		if err := s.deliver(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// deliver posts p until Klaxon answers 2xx.
func (s *storm) deliver(ctx context.Context, p post) error {
	body, err := json.Marshal(webhook(p))
	if err != nil {
		return err
	}
	a := &s.alerts[p.alert]
	if p.kind == firePost {
		a.fired = true
	}
	for {
		s.posted.Add(1)
		incident, err := s.post(ctx, body)
		if err == nil {
			s.acked.Add(1)
			switch {
			case incident == 0:
				// Only a resolve of an alert Klaxon never stored is
				// ignored, and this one was fired first.
				a.ignored = true
			case incident != queued && a.acked && a.incident != 0 && a.incident != incident:
				a.moved = true
			}
			a.acked, a.rev, a.resolved = true, p.rev, p.kind == resolvePost
			if incident > 0 {
				a.incident = incident
			}
			return nil
		}
		var bad *rejected
		if errors.As(err, &bad) {
			return err
		}
		s.failed.Add(1)
		wait := pollEvery
		var slow *throttled
		if errors.As(err, &slow) {
			wait = max(wait, slow.after)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("alert %d never answered 2xx: %w (last: %v)", p.alert, ctx.Err(), err)
		case <-timer.C:
		}
	}
}

// rejected is a 4xx: the post itself is wrong, re-sending cannot help.
type rejected struct {
	status int
	body   string
}

func (e *rejected) Error() string { return fmt.Sprintf("webhook rejected: %d %s", e.status, e.body) }

// throttled is a 429: not taken, to be re-sent after a while.
type throttled struct{ after time.Duration }

func (e *throttled) Error() string { return fmt.Sprintf("webhook throttled: retry after %s", e.after) }

// queued is what post returns for an alert taken into the intake journal:
// answered 2xx, its incident decided right after.
const queued = -1

// post sends one webhook and returns the incident Klaxon put the alert in
// (0: Klaxon ignored it; queued: not yet decided).
func (s *storm) post(ctx context.Context, body []byte) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/hooks/"+integration, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+hookToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return 0, fmt.Errorf("reading the answer: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return 0, &throttled{after: time.Duration(secs) * time.Second}
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return 0, &rejected{status: resp.StatusCode, body: string(raw)}
	case resp.StatusCode/100 != 2:
		return 0, fmt.Errorf("webhook answered %d: %s", resp.StatusCode, raw)
	}
	var reply struct {
		Incidents []int64 `json:"incidents"`
		Queued    int     `json:"queued"`
	}
	switch err := json.Unmarshal(raw, &reply); {
	case err == nil && reply.Queued == 1 && len(reply.Incidents) == 0:
		// In the intake journal, to be applied: no incident yet.
		return queued, nil
	case err != nil || len(reply.Incidents) != 1 || reply.Incidents[0] < 0:
		// A 2xx that names no incident is an answer, but a wrong one.
		return 0, &rejected{status: resp.StatusCode, body: string(raw)}
	}
	return reply.Incidents[0], nil
}

// The Alertmanager v4 webhook, as in cmd/klaxon/testdata.
type amWebhook struct {
	Receiver          string            `json:"receiver"`
	Status            string            `json:"status"`
	Alerts            []amAlert         `json:"alerts"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
}

type amAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// fingerprint is alert a's Alertmanager fingerprint: 16 hex digits, unique
// per alert (multiplying by an odd constant is a bijection on uint64).
func fingerprint(a int) string { return fmt.Sprintf("%016x", uint64(a+1)*0x9e3779b97f4a7c15) }

// summary is what revision rev of alert a says.
func summary(a, rev int) string {
	return fmt.Sprintf("High 5xx error rate on checkout-api shard %04d (rev %d)", a, rev)
}

func webhook(p post) amWebhook {
	shard := fmt.Sprintf("%04d", p.alert)
	labels := map[string]string{
		"alertname": "HighErrorRate", "shard": shard, "instance": "checkout-api-" + shard + ":8080",
		"job": "checkout-api", "service": "checkout-api", "severity": "critical",
	}
	annotations := map[string]string{
		"summary":     summary(p.alert, p.rev),
		"description": "5xx ratio is over 5% on shard " + shard + ".",
	}
	status, endsAt := "firing", "0001-01-01T00:00:00Z"
	if p.kind == resolvePost {
		status, endsAt = "resolved", time.Now().UTC().Format(time.RFC3339)
	}
	return amWebhook{
		Receiver: "klaxon",
		Status:   status,
		Alerts: []amAlert{{
			Status: status, Labels: labels, Annotations: annotations,
			StartsAt: "2026-11-21T11:25:40Z", EndsAt: endsAt,
			GeneratorURL: "http://prometheus.example.org:9090/graph?g0.expr=job%3Ahttp_5xx%3Aratio5m",
			Fingerprint:  fingerprint(p.alert),
		}},
		GroupLabels:       map[string]string{"alertname": "HighErrorRate", "shard": shard},
		CommonLabels:      labels,
		CommonAnnotations: annotations,
		ExternalURL:       "http://alertmanager.example.org:9093",
		Version:           "4",
		GroupKey:          fmt.Sprintf(`{}:{alertname="HighErrorRate", shard="%s"}`, shard),
	}
}
