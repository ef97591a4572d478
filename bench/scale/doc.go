// Package scale holds Klaxon's scale benchmarks: page lag with 100,000
// open incidents on escalation timers, CPU while nothing is due, live heap
// per stored alert, restart to ready with 1,000,000 stored alerts, an
// alert storm, and the cost of a call step under a call limit. They run
// the real engine and bbolt store on a temp file; the timer, restart and
// storm benchmarks run the Runner on the system clock as well.
//
// They are Go benchmarks, so `go test ./...` compiles them but never runs
// them; each benchmark run is one whole measurement, reported with
// b.ReportMetric. BENCHMARKS.md gives the command per figure, for example
//
//	go test ./bench/scale -run '^$' -bench 'PageLag' -benchtime 1x -count 5 -timeout 30m
//
// The code lives in _test.go files: the dependency rule (internal/archtest)
// lets test code, not a package of its own, wire the store to the engine.
package scale
