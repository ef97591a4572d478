// Command summarize reads loadgen's JSON lines and prints, per scenario, the
// medians across rounds, the Klaxon/Alertmanager rate ratio from side-by-side
// rounds, and whether the ingest targets are met.
//
//	go run ./bench/summarize results.jsonl [more.jsonl ...]
//
// Given several runs' results, it pools their rounds: one run's rounds
// move with the host's load for minutes at a time, and a target met by a
// median over many runs is a steadier claim than one met by any one run.
// Each Klaxon scenario's ratio is then also printed run by run.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Targets (BENCHMARKS.md).
const (
	targetRatio1   = 1.0    // Klaxon ≥ 1.0× Alertmanager's rate, 1-alert webhooks
	targetP99ms1   = 20.0   // Klaxon p99 < 20 ms, 1-alert webhooks
	targetRate100  = 50_000 // Klaxon alerts/s with 100-alert webhooks
	targetAlerts   = 100
	singleAlerts   = 1
	alertmanagerID = "alertmanager"
)

type line struct {
	Probe            string  `json:"probe"`
	Scenario         string  `json:"scenario"`
	Round            int     `json:"round"`
	Target           string  `json:"target"`
	Senders          int     `json:"senders"`
	AlertsPerRequest int     `json:"alerts_per_request"`
	Requests         int64   `json:"requests"`
	Errors           int64   `json:"errors"`
	AlertsPerS       float64 `json:"alerts_per_s"`
	RequestsPerS     float64 `json:"requests_per_s"`
	P50ms            float64 `json:"p50_ms"`
	P90ms            float64 `json:"p90_ms"`
	P99ms            float64 `json:"p99_ms"`
	MaxMs            float64 `json:"max_ms"`
	DurationS        float64 `json:"duration_s"`
	Alerts           float64 `json:"alerts"`
	// loadgen -pid: the server's CPU per alert, the machine's idle and
	// stolen shares, over the measured time.
	ServerCPUusPerAlert float64 `json:"server_cpu_us_per_alert"`
	MachineIdle         float64 `json:"machine_idle"`
	Steal               float64 `json:"steal"`
	// drain lines (run.sh): Klaxon's intake backlog when the load stopped
	// and the time it took to apply it; the run's journal flushes (0: the
	// build had no flush metrics).
	Drain              string  `json:"drain"`
	BacklogAlerts      float64 `json:"backlog_alerts"`
	DrainS             float64 `json:"drain_s"`
	DrainCPUs          float64 `json:"drain_cpu_s"`
	FlushMeanUs        float64 `json:"flush_mean_us"`
	DeliveriesPerFlush float64 `json:"deliveries_per_flush"`
	// fsync probe lines (bench/fsyncprobe)
	Pages int     `json:"pages"`
	P50us float64 `json:"p50_us"`
	P90us float64 `json:"p90_us"`
	P99us float64 `json:"p99_us"`

	run int // which results file (from 0), so rounds of runs stay apart
}

// roundKey names one round of one run.
type roundKey struct{ run, round int }

func (l line) key() roundKey { return roundKey{l.run, l.Round} }

type scenario struct {
	probe  bool // fsync probe lines, not a load scenario
	drain  bool // drain lines of the scenario named after "drain:"
	name   string
	target string
	alerts int
	runs   []line
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: summarize RESULTS.jsonl [MORE.jsonl ...]")
		os.Exit(2)
	}
	var rs []io.Reader
	for _, name := range os.Args[1:] {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "summarize:", err)
			os.Exit(1)
		}
		defer f.Close()
		rs = append(rs, f)
	}
	scs, err := read(rs...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "summarize:", err)
		os.Exit(1)
	}
	if !report(os.Stdout, scs) {
		os.Exit(3)
	}
}

// read groups the lines of one or more runs by scenario, in order of first
// appearance.
func read(runs ...io.Reader) ([]*scenario, error) {
	var out []*scenario
	byName := map[string]*scenario{}
	for run, r := range runs {
		var err error
		if out, err = readRun(r, run, out, byName); err != nil {
			if len(runs) > 1 {
				err = fmt.Errorf("results %d: %w", run+1, err)
			}
			return nil, err
		}
	}
	return out, nil
}

// readRun adds the lines of one run to out.
func readRun(r io.Reader, run int, out []*scenario, byName map[string]*scenario) ([]*scenario, error) {
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var l line
		if err := json.Unmarshal([]byte(text), &l); err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		l.run = run
		switch {
		case l.Probe != "":
			l.Scenario = "probe:" + l.Probe
		case l.Drain != "":
			l.Scenario = "drain:" + l.Drain
		case l.Scenario == "":
			l.Scenario = l.Target + "-" + strconv.Itoa(l.AlertsPerRequest)
		}
		s := byName[l.Scenario]
		if s == nil {
			s = &scenario{name: l.Scenario, target: l.Target, alerts: l.AlertsPerRequest, probe: l.Probe != "", drain: l.Drain != ""}
			byName[l.Scenario] = s
			out = append(out, s)
		}
		s.runs = append(s.runs, l)
	}
	return out, sc.Err()
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (s *scenario) values(f func(line) float64) []float64 {
	xs := make([]float64, len(s.runs))
	for i, l := range s.runs {
		xs[i] = f(l)
	}
	return xs
}

func (s *scenario) med(f func(line) float64) float64 { return median(s.values(f)) }

// byRound maps each round of s to f of its line.
func (s *scenario) byRound(f func(line) float64) map[roundKey]float64 {
	m := make(map[roundKey]float64, len(s.runs))
	for _, l := range s.runs {
		m[l.key()] = f(l)
	}
	return m
}

func (s *scenario) errors() int64 {
	var n int64
	for _, l := range s.runs {
		n += l.Errors
	}
	return n
}

// ratio is the median over rounds of s's alert rate over base's, taking only
// rounds that have both; rounds lists those ratios in round order, and runs
// the run of each.
func ratio(s, base *scenario) (med float64, rounds []float64, runs []int) {
	baseRate := base.byRound(func(l line) float64 { return l.AlertsPerS })
	for _, l := range s.runs {
		if b, ok := baseRate[l.key()]; ok && b > 0 {
			rounds = append(rounds, l.AlertsPerS/b)
			runs = append(runs, l.run)
		}
	}
	return median(rounds), rounds, runs
}

// byRun is the median ratio of each run's rounds, in run order.
func byRun(rounds []float64, runs []int) []float64 {
	var out []float64
	for i := 0; i < len(rounds); {
		j := i
		for j < len(rounds) && runs[j] == runs[i] {
			j++
		}
		out = append(out, median(rounds[i:j]))
		i = j
	}
	return out
}

// stolenBeside reports, over the rounds where s and base both ran and the
// load generator read the machine's times (a run's server CPU is then
// set), in how many the host stole more of the machine during s's run,
// and the median stolen share of each. Where the disk is virtual, the host
// does each durable write's work on its own CPUs, which the guest may see
// as stolen time: a cost a server keeping alerts in memory does not have.
func stolenBeside(s, base *scenario) (more, pairs int, sMed, baseMed float64) {
	read := func(l line) bool { return l.ServerCPUusPerAlert > 0 }
	baseSteal := map[roundKey]float64{}
	for _, l := range base.runs {
		if read(l) {
			baseSteal[l.key()] = l.Steal
		}
	}
	var ss, bs []float64
	for _, l := range s.runs {
		b, ok := baseSteal[l.key()]
		if !ok || !read(l) {
			continue
		}
		pairs++
		if l.Steal > b {
			more++
		}
		ss, bs = append(ss, l.Steal), append(bs, b)
	}
	return more, pairs, median(ss), median(bs)
}

// report prints the tables; it returns false when any run had errors.
func report(w io.Writer, scs []*scenario) bool {
	valid := true
	fmt.Fprintln(w, "| scenario | rounds | alerts/s | requests/s | p50 ms | p90 ms | p99 ms | max ms | errors |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range scs {
		if s.probe || s.drain {
			continue
		}
		fmt.Fprintf(w, "| %s | %d | %.0f | %.0f | %.2f | %.2f | %.2f | %.2f | %d |\n", s.name, len(s.runs),
			s.med(func(l line) float64 { return l.AlertsPerS }),
			s.med(func(l line) float64 { return l.RequestsPerS }),
			s.med(func(l line) float64 { return l.P50ms }),
			s.med(func(l line) float64 { return l.P90ms }),
			s.med(func(l line) float64 { return l.P99ms }),
			s.med(func(l line) float64 { return l.MaxMs }),
			s.errors())
		if s.errors() > 0 {
			valid = false
		}
	}
	fmt.Fprintln(w, "\n(medians across rounds; max ms is the median of the rounds' maxima)")
	for _, s := range scs {
		if s.probe {
			fmt.Fprintf(w, "\nDisk probe (%d rounds; write %d pages + fdatasync + meta + fdatasync): median p50 %.0f µs, p90 %.0f µs, p99 %.0f µs; worst round p90 %.0f µs\n",
				len(s.runs), s.runs[0].Pages,
				s.med(func(l line) float64 { return l.P50us }), s.med(func(l line) float64 { return l.P90us }),
				s.med(func(l line) float64 { return l.P99us }), slices.Max(s.values(func(l line) float64 { return l.P90us })))
		}
	}

	drains(w, scs)
	cpu(w, scs)

	base := map[int]*scenario{}
	for _, s := range scs {
		if s.target == alertmanagerID {
			base[s.alerts] = s
		}
	}
	fmt.Fprintln(w, "\n| Klaxon scenario | vs | median rate ratio (side-by-side rounds) | pairs | per round |")
	fmt.Fprintln(w, "|---|---|---:|---:|---|")
	ratios := map[string]float64{}
	var pooled, stolen []string
	for _, s := range scs {
		b := base[s.alerts]
		if s.target != "klaxon" || b == nil {
			continue
		}
		r, rounds, runs := ratio(s, b)
		ratios[s.name] = r
		fmt.Fprintf(w, "| %s | %s | %.3f× | %d | %s |\n", s.name, b.name, r, len(rounds), joined(rounds))
		if per := byRun(rounds, runs); len(per) > 1 {
			atLeast := 0
			for _, x := range rounds {
				if x >= targetRatio1 {
					atLeast++
				}
			}
			pooled = append(pooled, fmt.Sprintf("- %s: by run %s; %d rounds of %d at or above %.1f×", s.name, joined(per), atLeast, len(rounds), targetRatio1))
		}
		if more, pairs, sm, bm := stolenBeside(s, b); pairs > 0 {
			stolen = append(stolen, fmt.Sprintf("- %s: the host stole more during it than during %s beside it in %d rounds of %d (median %.1f%% against %.1f%%)",
				s.name, b.name, more, pairs, 100*sm, 100*bm))
		}
	}
	if len(pooled) > 0 {
		fmt.Fprintln(w, "\nRatios of the pooled runs, each run's median:")
		fmt.Fprintln(w, strings.Join(pooled, "\n"))
	}
	if len(stolen) > 0 {
		fmt.Fprintln(w, "\nStolen time, side by side:")
		fmt.Fprintln(w, strings.Join(stolen, "\n"))
	}

	fmt.Fprintln(w, "\nTargets:")
	for _, s := range scs {
		if s.target != "klaxon" {
			continue
		}
		switch s.alerts {
		case singleAlerts:
			r, p99 := ratios[s.name], s.med(func(l line) float64 { return l.P99ms })
			fmt.Fprintf(w, "- %s: rate %.3f× Alertmanager (target ≥ %.1f×): %s; p99 %.2f ms (target < %.0f ms): %s\n",
				s.name, r, targetRatio1, verdict(r >= targetRatio1), p99, targetP99ms1, verdict(p99 < targetP99ms1))
		case targetAlerts:
			rate := s.med(func(l line) float64 { return l.AlertsPerS })
			fmt.Fprintf(w, "- %s: %.0f alerts/s (target ≥ %d): %s\n", s.name, rate, targetRate100, verdict(rate >= targetRate100))
		}
	}
	if !valid {
		fmt.Fprintln(w, "\nINVALID: some runs had errors (see the errors column).")
	}
	return valid
}

// drains prints, for each Klaxon scenario, what was accepted and not yet
// applied when the load stopped, how long applying it took, the rate of
// alerts applied (the run's alerts over its measured time plus that), and
// its journal flushes: how long one took and how many deliveries shared it.
func drains(w io.Writer, scs []*scenario) {
	byName := map[string]*scenario{}
	for _, s := range scs {
		byName[s.name] = s
	}
	header := false
	for _, d := range scs {
		if !d.drain {
			continue
		}
		run := byName[strings.TrimPrefix(d.name, "drain:")]
		if run == nil {
			continue
		}
		if !header {
			fmt.Fprintln(w, "\n| Klaxon scenario | backlog when the load stopped (alerts) | time to apply it (s) | alerts applied per s, measured time + that | journal flush, mean (µs) | deliveries per flush |")
			fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
			header = true
		}
		drainOf := d.byRound(func(l line) float64 { return l.DrainS })
		var applied []float64
		for _, l := range run.runs {
			if ds, ok := drainOf[l.key()]; ok && l.DurationS+ds > 0 {
				applied = append(applied, l.Alerts/(l.DurationS+ds))
			}
		}
		fmt.Fprintf(w, "| %s | %.0f | %.2f | %.0f | %s | %s |\n", run.name,
			d.med(func(l line) float64 { return l.BacklogAlerts }), d.med(func(l line) float64 { return l.DrainS }), median(applied),
			known(d.med(func(l line) float64 { return l.FlushMeanUs }), "%.0f"),
			known(d.med(func(l line) float64 { return l.DeliveriesPerFlush }), "%.1f"))
	}
}

// joined formats ratios to three places, comma separated.
func joined(xs []float64) string {
	each := make([]string, len(xs))
	for i, x := range xs {
		each[i] = fmt.Sprintf("%.3f", x)
	}
	return strings.Join(each, ", ")
}

// known formats x, or a dash for a figure the run did not report.
func known(x float64, format string) string {
	if x == 0 {
		return "–"
	}
	return fmt.Sprintf(format, x)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// cpu prints, where the load generator read them, each scenario's server
// CPU per alert and the machine's idle and stolen shares (medians). For
// Klaxon the CPU of applying the backlog after the load (its drain line)
// counts too: Alertmanager does all of its work while answering.
func cpu(w io.Writer, scs []*scenario) {
	drainCPU := map[string]map[roundKey]float64{}
	for _, d := range scs {
		if d.drain {
			drainCPU[strings.TrimPrefix(d.name, "drain:")] = d.byRound(func(l line) float64 { return l.DrainCPUs })
		}
	}
	header := false
	for _, s := range scs {
		if s.probe || s.drain || s.med(func(l line) float64 { return l.ServerCPUusPerAlert }) == 0 {
			continue
		}
		if !header {
			fmt.Fprintln(w, "\n| scenario | server CPU per alert (µs) | machine idle or waiting on disk | stolen by the host |")
			fmt.Fprintln(w, "|---|---:|---:|---:|")
			header = true
		}
		perAlert := s.med(func(l line) float64 {
			if l.Alerts <= 0 {
				return l.ServerCPUusPerAlert
			}
			return l.ServerCPUusPerAlert + drainCPU[s.name][l.key()]*1e6/l.Alerts
		})
		fmt.Fprintf(w, "| %s | %.1f | %.1f%% | %.1f%% |\n", s.name, perAlert,
			100*s.med(func(l line) float64 { return l.MachineIdle }),
			100*s.med(func(l line) float64 { return l.Steal }))
	}
	if header {
		fmt.Fprintln(w, "\n(Klaxon's CPU includes applying the backlog left when the load stopped)")
	}
}
