//go:build unix

package crashtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pollEvery is the tick of every wait on a condition.
const pollEvery = 20 * time.Millisecond

// buildKlaxon builds the klaxon binary from this module once per test run.
func buildKlaxon(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is needed to build klaxon: %v", err)
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "klaxon")
	cmd := exec.CommandContext(t.Context(), goTool, "build", "-o", bin, "./cmd/klaxon")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/klaxon: %v\n%s", err, out)
	}
	return bin
}

// moduleRoot walks up from the working directory to go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("module root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// freeAddr is a loopback address nothing listens on right now. Klaxon
// binds it again after every restart, so it is fixed in the config, and it
// lies below the kernel's ephemeral range where one is known: while klaxon
// is down, a sender's connection could otherwise be given the port as its
// own, connect to itself and hold the port against the restart.
func freeAddr(t *testing.T, rng *rand.Rand) string {
	t.Helper()
	low := 0
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			low, _ = strconv.Atoi(f[0])
		}
	}
	const first = 10000
	for range 100 {
		if low <= first {
			break
		}
		addr := fmt.Sprintf("127.0.0.1:%d", first+rng.IntN(low-first))
		if ln, err := net.Listen("tcp", addr); err == nil {
			if err := ln.Close(); err != nil {
				t.Fatal(err)
			}
			return addr
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// checkConfig runs klaxon check on the config, as an operator would
// before the first start.
func checkConfig(t *testing.T, bin, config string) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.CommandContext(t.Context(), bin, "check", "--config", config)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("klaxon check --config: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "pager: "+gatewayName) {
		t.Fatalf("klaxon check does not page through the fake gateway:\n%s", out.String())
	}
}

// klaxon is the klaxon serve process, one run after another on the same
// config and database.
type klaxon struct {
	bin, config, base string
	// log collects the stderr of every run, each headed by a line.
	log     *os.File
	runs    int
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd is reaped
	state   *os.ProcessState
	waitErr error
}

func newKlaxon(t *testing.T, bin, config, addr string) *klaxon {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "klaxon.stderr"))
	if err != nil {
		t.Fatal(err)
	}
	k := &klaxon{bin: bin, config: config, base: "http://" + addr, log: f}
	t.Cleanup(func() {
		// No klaxon outlives the test, whatever failed.
		if k.running() {
			_ = k.cmd.Process.Kill()
			<-k.exited
		}
		if t.Failed() {
			t.Logf("klaxon stderr, last lines:\n%s", k.tail(60))
		}
		f.Close()
	})
	return k
}

func (k *klaxon) running() bool {
	if k.cmd == nil {
		return false
	}
	select {
	case <-k.exited:
		return false
	default:
		return true
	}
}

// start runs klaxon serve and waits until it is ready.
func (k *klaxon) start(ctx context.Context) error {
	k.runs++
	fmt.Fprintf(k.log, "=== run %d at %s\n", k.runs, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(k.bin, "serve", "--config", k.config)
	cmd.Stdout, cmd.Stderr = k.log, k.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start klaxon: %w", err)
	}
	k.cmd, k.exited, k.state, k.waitErr = cmd, make(chan struct{}), nil, nil
	go func(exited chan struct{}) {
		k.waitErr = cmd.Wait()
		k.state = cmd.ProcessState
		close(exited)
	}(k.exited)
	return k.waitReady(ctx)
}

// waitReady polls /readyz: it answers 200 once the runner has completed a
// pass, which after a crash means the outbox was recovered.
func (k *klaxon) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.base+"/readyz", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-k.exited:
			return fmt.Errorf("klaxon run %d exited before it was ready: %v", k.runs, k.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("klaxon run %d not ready: %w", k.runs, ctx.Err())
		case <-tick.C:
		}
	}
}

// kill sends SIGKILL and reaps the process. It fails if klaxon had already
// exited on its own: that would be a crash nobody asked for.
func (k *klaxon) kill() error {
	if !k.running() {
		return fmt.Errorf("klaxon run %d had exited before the kill: %v", k.runs, k.waitErr)
	}
	if err := k.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill -9 klaxon: %w", err)
	}
	<-k.exited
	ws, ok := k.state.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		return fmt.Errorf("klaxon run %d ended by %v, not by the kill", k.runs, k.state)
	}
	return nil
}

// stop sends SIGTERM and expects a clean exit: pages in flight are
// recorded before the process ends.
func (k *klaxon) stop() error {
	if !k.running() {
		return fmt.Errorf("klaxon run %d had exited before the stop: %v", k.runs, k.waitErr)
	}
	if err := k.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop klaxon: %w", err)
	}
	timer := time.NewTimer(20 * time.Second)
	defer timer.Stop()
	select {
	case <-k.exited:
	case <-timer.C:
		return errors.New("klaxon did not stop within 20s of SIGTERM")
	}
	if !k.state.Success() {
		return fmt.Errorf("klaxon stopped with %v", k.state)
	}
	return nil
}

// tail is the end of the stderr of every run.
func (k *klaxon) tail(lines int) string {
	b, err := os.ReadFile(k.log.Name())
	if err != nil {
		return err.Error()
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}
