// Command fsyncprobe measures the disk under a directory the way a small
// bbolt commit uses it: write a few 4 KiB pages, fdatasync, write a meta
// page, fdatasync. It prints one JSON line, so a benchmark run records how
// fast (and how noisy) durable writes were at the time.
//
//	fsyncprobe -dir /tmp/x -commits 200
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

func main() {
	dir := flag.String("dir", os.TempDir(), "directory on the disk to probe")
	commits := flag.Int("commits", 200, "commits to time (at most 10000)")
	pages := flag.Int("pages", 8, "4 KiB data pages per commit")
	flag.Parse()
	if *commits < 1 || *commits > 10000 || *pages < 1 || *pages > 1024 {
		fmt.Fprintln(os.Stderr, "fsyncprobe: -commits must be 1..10000, -pages 1..1024")
		os.Exit(2)
	}
	out, err := probe(*dir, *commits, *pages)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fsyncprobe:", err)
		os.Exit(1)
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
}

type result struct {
	Probe string  `json:"probe"`
	Pages int     `json:"pages"`
	N     int     `json:"commits"`
	P50us float64 `json:"p50_us"`
	P90us float64 `json:"p90_us"`
	P99us float64 `json:"p99_us"`
}

func probe(dir string, commits, pages int) (result, error) {
	f, err := os.CreateTemp(dir, "fsyncprobe-*")
	if err != nil {
		return result{}, err
	}
	defer os.Remove(filepath.Clean(f.Name()))
	defer f.Close()
	// Preallocate by writing, so the probe times overwrites, not block
	// allocation.
	page := make([]byte, 4096)
	size := int64(pages+1) * 4096
	if _, err := f.WriteAt(make([]byte, size), 0); err != nil {
		return result{}, err
	}
	if err := f.Sync(); err != nil {
		return result{}, err
	}
	fd := int(f.Fd())
	lat := make([]time.Duration, 0, commits)
	for range commits {
		t := time.Now()
		for p := 1; p <= pages; p++ {
			if _, err := f.WriteAt(page, int64(p)*4096); err != nil {
				return result{}, err
			}
		}
		if err := syscall.Fdatasync(fd); err != nil {
			return result{}, err
		}
		if _, err := f.WriteAt(page[:64], 0); err != nil {
			return result{}, err
		}
		if err := syscall.Fdatasync(fd); err != nil {
			return result{}, err
		}
		lat = append(lat, time.Since(t))
	}
	slices.Sort(lat)
	q := func(x float64) float64 {
		i := min(int(x*float64(len(lat))), len(lat)-1)
		return float64(lat[i].Microseconds())
	}
	return result{Probe: "fsync", Pages: pages, N: commits, P50us: q(0.5), P90us: q(0.9), P99us: q(0.99)}, nil
}
