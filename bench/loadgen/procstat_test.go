package main

import (
	"math"
	"testing"
)

// A server named with spaces and a parenthesis still has its CPU read
// from the right fields, and the machine's idle includes time waiting on
// the disk.
func TestCPUPerAlertFromProc(t *testing.T) {
	before, err := parseCPU(
		[]byte("4242 (klax on) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 150 50 0 0 20 0 9 0 1000 1 1 18446744073709551615\n"),
		[]byte("cpu  1000 0 500 8000 100 0 50 200 0 0\ncpu0 500 0 250 4000 50 0 25 100 0 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	after, err := parseCPU(
		[]byte("4242 (klax on) x) S 1 4242 4242 0 -1 4194560 950 0 0 0 250 100 0 0 20 0 9 0 1000 1 1 18446744073709551615\n"),
		[]byte("cpu  1100 0 550 8030 120 0 60 240 0 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	// 150 ticks of the server's CPU (1.5 s) over 10,000 alerts; the
	// machine ran 250 ticks: 50 idle or waiting, 40 stolen.
	us, idle, steal := cpuUse(before, after, 10_000)
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"µs per alert", us, 150}, {"idle", idle, 0.2}, {"steal", steal, 0.16}} {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestCPUFromProcRefusesWhatItCannotRead(t *testing.T) {
	for _, c := range []struct{ stat, all string }{
		{"4242 klaxon S 1", "cpu  1 2 3 4 5 6 7 8\n"},
		{"4242 (klaxon) S 1 2 3 4 5 6 7 8 9 10 x 12", "cpu  1 2 3 4 5 6 7 8\n"},
		{"4242 (klaxon) S 1 4242 4242 0 -1 4194560 900 0 0 0 150 50 0", "intr 1 2 3\n"},
	} {
		if _, err := parseCPU([]byte(c.stat), []byte(c.all)); err == nil {
			t.Errorf("%q, %q: no error", c.stat, c.all)
		}
	}
}
