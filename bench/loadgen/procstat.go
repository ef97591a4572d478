package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// userHZ is the unit of CPU times in /proc: 100 per second on Linux, for
// every architecture, whatever the kernel's own tick.
const userHZ = 100

// cpuSample is what /proc says at one moment: the server's CPU time and
// the machine's, in ticks.
type cpuSample struct {
	process            int64 // the server's user + system time
	idle, steal, total int64 // the machine's: idle + iowait, stolen by the host, all
}

// sampleCPU reads the server's CPU time (pid) and the machine's.
func sampleCPU(pid int) (cpuSample, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return cpuSample{}, err
	}
	all, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuSample{}, err
	}
	return parseCPU(stat, all)
}

// parseCPU reads a process's stat file and the machine's /proc/stat.
func parseCPU(stat, all []byte) (s cpuSample, err error) {
	// The command name, in parentheses, may hold spaces and parentheses:
	// fields count from the last ')'. utime and stime are fields 14 and
	// 15 of the file, 12 and 13 after the name.
	i := bytes.LastIndexByte(stat, ')')
	fields := strings.Fields(string(stat[i+1:]))
	if i < 0 || len(fields) < 13 {
		return s, errors.New("process stat: unexpected format")
	}
	times, err := ticks(fields[11:13])
	if err != nil {
		return s, fmt.Errorf("process stat: %w", err)
	}
	s.process = times[0] + times[1]
	line, _, _ := bytes.Cut(all, []byte("\n"))
	fields = strings.Fields(string(line))
	if len(fields) < 9 || fields[0] != "cpu" {
		return s, errors.New("/proc/stat: unexpected format")
	}
	// user nice system idle iowait irq softirq steal
	m, err := ticks(fields[1:9])
	if err != nil {
		return s, fmt.Errorf("/proc/stat: %w", err)
	}
	for _, n := range m {
		s.total += n
	}
	s.idle, s.steal = m[3]+m[4], m[7]
	return s, nil
}

// ticks parses fields of CPU times.
func ticks(fields []string) ([]int64, error) {
	out := make([]int64, len(fields))
	for i, f := range fields {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// cpuUse is the server's CPU per alert between two samples, and the shares
// of the machine's time that were idle and stolen.
func cpuUse(a, b cpuSample, alerts int64) (usPerAlert, idle, steal float64) {
	if alerts > 0 {
		usPerAlert = float64(b.process-a.process) * 1e6 / userHZ / float64(alerts)
	}
	if total := float64(b.total - a.total); total > 0 {
		idle, steal = float64(b.idle-a.idle)/total, float64(b.steal-a.steal)/total
	}
	return usPerAlert, idle, steal
}
