// Command loadgen sends firing alerts to Klaxon or to Alertmanager as fast as
// N concurrent keep-alive senders can, and prints one JSON line of results.
//
//	loadgen -target klaxon -url http://127.0.0.1:18080 -integration am-bench -token T
//	loadgen -target alertmanager -url http://127.0.0.1:19093
//
// Every alert carries a fingerprint (and id label) never sent before, so no
// request is an unchanged repeat: for Klaxon every alert is a write.
// Only loopback targets are accepted, and every run is bounded in time.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// maxDuration bounds a run whatever the flags say.
const maxDuration = 10 * time.Minute

type config struct {
	target, url, integration, token string
	scenario                        string
	round                           int
	senders, alerts                 int
	requests                        int64
	duration, warmup, timeout       time.Duration
	groupKey                        string
	pid                             int
}

// result is the JSON line loadgen prints.
type result struct {
	Scenario         string  `json:"scenario,omitempty"`
	Round            int     `json:"round,omitempty"`
	Target           string  `json:"target"`
	Senders          int     `json:"senders"`
	AlertsPerRequest int     `json:"alerts_per_request"`
	Requests         int64   `json:"requests"`
	Alerts           int64   `json:"alerts"`
	Errors           int64   `json:"errors"`
	DurationS        float64 `json:"duration_s"`
	RequestsPerS     float64 `json:"requests_per_s"`
	AlertsPerS       float64 `json:"alerts_per_s"`
	P50ms            float64 `json:"p50_ms"`
	P90ms            float64 `json:"p90_ms"`
	P99ms            float64 `json:"p99_ms"`
	MaxMs            float64 `json:"max_ms"`
	// With -pid, over the measured time: the server's CPU (user + system)
	// per alert, and the shares of the machine's CPU time that were idle
	// (or waiting on the disk) and stolen by the host.
	ServerCPUusPerAlert float64 `json:"server_cpu_us_per_alert,omitempty"`
	MachineIdle         float64 `json:"machine_idle,omitempty"`
	Steal               float64 `json:"steal,omitempty"`
}

func main() {
	var c config
	flag.StringVar(&c.target, "target", "klaxon", "klaxon | alertmanager")
	flag.StringVar(&c.url, "url", "", "base URL of the target (loopback only)")
	flag.StringVar(&c.integration, "integration", "am-bench", "klaxon: integration name (POST /hooks/{integration})")
	flag.StringVar(&c.token, "token", "", "klaxon: bearer token of the integration")
	flag.StringVar(&c.groupKey, "group-key", `{}:{alertname="KlaxonBench"}`, "klaxon: webhook groupKey (the same for every request)")
	flag.StringVar(&c.scenario, "scenario", "", "scenario name copied into the output")
	flag.IntVar(&c.round, "round", 0, "round number copied into the output")
	flag.IntVar(&c.senders, "senders", 16, "concurrent senders")
	flag.IntVar(&c.alerts, "alerts", 1, "alerts per request")
	flag.Int64Var(&c.requests, "requests", 0, "stop after this many measured requests (0: run for -duration)")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "measured time (an upper bound when -requests is set)")
	flag.DurationVar(&c.warmup, "warmup", time.Second, "unmeasured sending before the measured time")
	flag.DurationVar(&c.timeout, "timeout", 10*time.Second, "per-request timeout")
	flag.IntVar(&c.pid, "pid", 0, "the server's process ID: report its CPU per alert (Linux /proc)")
	flag.Parse()
	if err := c.check(); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	res, err := run(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	if res.Errors > 0 {
		os.Exit(3) // the numbers were printed, but the run is invalid
	}
}

func (c *config) check() error {
	switch c.target {
	case "klaxon":
		if c.token == "" || c.integration == "" {
			return errors.New("-target klaxon needs -token and -integration")
		}
	case "alertmanager":
	default:
		return fmt.Errorf("-target %q: want klaxon or alertmanager", c.target)
	}
	u, err := url.Parse(c.url)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("-url %q: want http://HOST:PORT", c.url)
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-url %q: only loopback targets are allowed", c.url)
	}
	if c.senders < 1 || c.alerts < 1 || c.requests < 0 {
		return errors.New("-senders and -alerts must be positive, -requests not negative")
	}
	if c.duration <= 0 || c.warmup < 0 || c.duration+c.warmup > maxDuration {
		return fmt.Errorf("-duration must be positive and -warmup + -duration at most %s", maxDuration)
	}
	return nil
}

// sender is one goroutine's state: its latencies and errors.
type sender struct {
	lat    []time.Duration
	errors int64
	buf    bytes.Buffer
}

func run(c config) (result, error) {
	client := &http.Client{
		Timeout: c.timeout,
		Transport: &http.Transport{
			MaxIdleConns:        c.senders,
			MaxIdleConnsPerHost: c.senders,
			MaxConnsPerHost:     c.senders,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}
	defer client.CloseIdleConnections()
	endpoint := c.url + "/api/v2/alerts"
	if c.target == "klaxon" {
		endpoint = c.url + "/hooks/" + url.PathEscape(c.integration)
	}

	// Fingerprints are a random run prefix and a counter, so they are unique
	// across runs against one database too.
	var seed [4]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return result{}, err
	}
	prefix := uint64(binary.BigEndian.Uint32(seed[:])) << 32
	var seq atomic.Uint64

	var sent atomic.Int64 // measured requests started, against -requests
	var measuring atomic.Bool
	var firstErr sync.Once
	start := time.Now()
	measureFrom := start.Add(c.warmup)
	deadline := measureFrom.Add(c.duration)
	ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(c.timeout))
	defer cancel()

	// The CPU samples bracket the measured time: one when it starts, one
	// when the last sender stops.
	var cpuFrom cpuSample
	var cpuErr error
	cpuTaken := make(chan struct{})
	if c.pid > 0 {
		go func() {
			defer close(cpuTaken)
			time.Sleep(time.Until(measureFrom))
			cpuFrom, cpuErr = sampleCPU(c.pid)
		}()
	} else {
		close(cpuTaken)
	}

	senders := make([]*sender, c.senders)
	var wg sync.WaitGroup
	for i := range senders {
		s := &sender{lat: make([]time.Duration, 0, 1<<14)}
		senders[i] = s
		wg.Go(func() {
			for {
				now := time.Now()
				if !now.Before(deadline) {
					return
				}
				measured := !now.Before(measureFrom)
				if measured {
					measuring.Store(true)
					if c.requests > 0 && sent.Add(1) > c.requests {
						return
					}
				}
				first := seq.Add(uint64(c.alerts)) - uint64(c.alerts)
				s.buf.Reset()
				if c.target == "klaxon" {
					webhookBody(&s.buf, c.groupKey, prefix|first, c.alerts, now)
				} else {
					alertsBody(&s.buf, prefix|first, c.alerts, now)
				}
				t0 := time.Now()
				status, err := post(ctx, client, endpoint, c.token, s.buf.Bytes())
				d := time.Since(t0)
				if err == nil && (status < 200 || status > 299) {
					err = fmt.Errorf("HTTP %d", status)
				}
				if err != nil {
					firstErr.Do(func() { fmt.Fprintln(os.Stderr, "loadgen: first error:", err) })
				}
				if !measured {
					continue
				}
				s.lat = append(s.lat, d)
				if err != nil {
					s.errors++
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(measureFrom)
	if !measuring.Load() {
		return result{}, errors.New("no measured requests")
	}
	<-cpuTaken
	var cpuTo cpuSample
	if c.pid > 0 && cpuErr == nil {
		cpuTo, cpuErr = sampleCPU(c.pid)
	}
	if cpuErr != nil {
		fmt.Fprintln(os.Stderr, "loadgen: no CPU figures:", cpuErr)
	}

	var lat []time.Duration
	var errs int64
	for _, s := range senders {
		lat = append(lat, s.lat...)
		errs += s.errors
	}
	slices.Sort(lat)
	n := int64(len(lat))
	secs := elapsed.Seconds()
	res := result{
		Scenario: c.scenario, Round: c.round, Target: c.target, Senders: c.senders,
		AlertsPerRequest: c.alerts, Requests: n, Alerts: n * int64(c.alerts), Errors: errs,
		DurationS: round3(secs), RequestsPerS: round3(float64(n) / secs),
		AlertsPerS: round3(float64(n*int64(c.alerts)) / secs),
		P50ms:      ms(quantile(lat, 0.50)), P90ms: ms(quantile(lat, 0.90)),
		P99ms: ms(quantile(lat, 0.99)), MaxMs: ms(quantile(lat, 1)),
	}
	if c.pid > 0 && cpuErr == nil {
		res.ServerCPUusPerAlert, res.MachineIdle, res.Steal = cpuUse(cpuFrom, cpuTo, res.Alerts)
		res.ServerCPUusPerAlert = round3(res.ServerCPUusPerAlert)
		res.MachineIdle, res.Steal = round3(res.MachineIdle), round3(res.Steal)
	}
	return res, nil
}

// post sends one request and reads the whole response.
func post(ctx context.Context, client *http.Client, endpoint, token string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, err
}

// quantile is the nearest-rank quantile of sorted durations.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }

func round3(f float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 3, 64), 64)
	return v
}

// Bodies are built by appending, not encoding/json, to keep the load
// generator's CPU share (it runs on the same two cores) small. Labels are
// the same for both targets; id is the unique fingerprint.

const (
	generatorURL = "http://127.0.0.1:9090/graph?g0.expr=up%3D%3D0"
	summary      = "Instance down"
	description  = "The scrape target has been unreachable for more than 5 minutes."
)

func labels(b *bytes.Buffer, fp string) {
	b.WriteString(`{"alertname":"KlaxonBench","id":"`)
	b.WriteString(fp)
	b.WriteString(`","instance":"node-`)
	b.WriteString(fp[12:])
	b.WriteString(`:9100","job":"node","severity":"critical"}`)
}

func annotations(b *bytes.Buffer) {
	b.WriteString(`{"summary":"` + summary + `","description":"` + description + `"}`)
}

// fingerprint scrambles a unique counter with the splitmix64 finaliser, a
// bijection, so fingerprints stay unique but land at random places in the
// store's keyspace, as Alertmanager's label hashes do.
func fingerprint(v uint64) string {
	v ^= v >> 30
	v *= 0xbf58476d1ce4e5b9
	v ^= v >> 27
	v *= 0x94d049bb133111eb
	v ^= v >> 31
	return fmt.Sprintf("%016x", v)
}

// webhookBody writes an Alertmanager v4 webhook notification of n firing
// alerts.
func webhookBody(b *bytes.Buffer, groupKey string, first uint64, n int, now time.Time) {
	gk, _ := json.Marshal(groupKey)
	b.WriteString(`{"version":"4","groupKey":`)
	b.Write(gk)
	b.WriteString(`,"truncatedAlerts":0,"status":"firing","receiver":"klaxon",` +
		`"groupLabels":{"alertname":"KlaxonBench"},"commonLabels":{"alertname":"KlaxonBench","job":"node","severity":"critical"},` +
		`"commonAnnotations":{"summary":"` + summary + `"},"externalURL":"http://127.0.0.1:9093","alerts":[`)
	startsAt := now.UTC().Format(time.RFC3339Nano)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fp := fingerprint(first + uint64(i))
		b.WriteString(`{"status":"firing","labels":`)
		labels(b, fp)
		b.WriteString(`,"annotations":`)
		annotations(b)
		b.WriteString(`,"startsAt":"` + startsAt + `","endsAt":"0001-01-01T00:00:00Z","generatorURL":"` + generatorURL + `","fingerprint":"`)
		b.WriteString(fp)
		b.WriteString(`"}`)
	}
	b.WriteString(`]}`)
}

// alertsBody writes an Alertmanager API v2 PostableAlerts array of n alerts
// firing for the next hour.
func alertsBody(b *bytes.Buffer, first uint64, n int, now time.Time) {
	startsAt := now.UTC().Format(time.RFC3339Nano)
	endsAt := now.Add(time.Hour).UTC().Format(time.RFC3339Nano)
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"labels":`)
		labels(b, fingerprint(first+uint64(i)))
		b.WriteString(`,"annotations":`)
		annotations(b)
		b.WriteString(`,"startsAt":"` + startsAt + `","endsAt":"` + endsAt + `","generatorURL":"` + generatorURL + `"}`)
	}
	b.WriteByte(']')
}
