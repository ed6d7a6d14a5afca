package fleet

import (
	"bufio"
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/sandbox"
)

// syncBuffer is an io.Writer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// build compiles pkg (a package path) into dir, with the race detector when
// this test runs with it, and returns the binary's path.
func build(t testing.TB, dir, pkg, name string, race bool) string {
	t.Helper()
	bin := filepath.Join(dir, name)
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, pkg)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Run(), "go build %s:\n%s", pkg, out.String())
	return bin
}

// baseEnv is the environment of the child processes: enough for a Go
// program, and nothing of the caller's VISA_* settings.
func baseEnv() []string {
	var env []string
	for _, name := range []string{"PATH", "HOME", "TMPDIR", "GORACE"} {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	return env
}

// process is a child process and the goroutines reading its output.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once Wait returned
	err    error         // Wait's result, set before exited closes
}

// start runs bin, sends its stderr to errw, and returns once it printed
// the line that starts with prefix (which it returns), with the lines of
// stdout before it. The rest of stdout is drained.
func start(ctx context.Context, bin string, args, env []string, errw io.Writer, prefix string) (*process, string, []string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stderr = errw
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", nil, err
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	type found struct {
		line   string
		before []string
	}
	got := make(chan found, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		var before []string
		sent := false
		for sc.Scan() {
			if !sent && strings.HasPrefix(sc.Text(), prefix) {
				got <- found{sc.Text(), before}
				sent = true
				continue
			}
			if !sent {
				before = append(before, sc.Text())
			}
		}
		if !sent {
			close(got)
		}
		_, _ = io.Copy(io.Discard, stdout)
		p.err = cmd.Wait()
		close(p.exited)
	}()
	select {
	case f, ok := <-got:
		if ok {
			return p, f.line, f.before, nil
		}
		<-p.exited
		return nil, "", nil, fmt.Errorf("%s exited before serving: %v", filepath.Base(bin), p.err)
	case <-ctx.Done():
		p.kill()
		return nil, "", nil, fmt.Errorf("%s did not start: %w", filepath.Base(bin), ctx.Err())
	}
}

// kill sends SIGKILL and waits until the process is reaped.
func (p *process) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// stop sends SIGTERM and waits up to grace for a clean exit, then kills.
// It returns the exit error of a clean stop, or an error saying it had to
// kill.
func (p *process) stop(grace time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.err
	case <-time.After(grace):
		p.kill()
		return fmt.Errorf("pid %d did not stop within %s of SIGTERM and was killed", p.cmd.Process.Pid, grace)
	}
}

// sandboxProc is cmd/visa-sandbox running as its own process.
type sandboxProc struct {
	*process
	env    map[string]string // the VISA_* environment it printed
	stderr *syncBuffer
	admin  string // its base URL
	hc     *http.Client
}

// startSandbox runs the sandbox binary on a free port and reads the
// environment it prints.
func startSandbox(t testing.TB, bin string, hc *http.Client) *sandboxProc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := &sandboxProc{stderr: &syncBuffer{}, env: map[string]string{}, hc: hc}
	// -max-retained 0: the verifier compares every purchase with the
	// sandbox's record of it, so none may be evicted, whatever FLEET_PURCHASES.
	p, last, lines, err := start(ctx, bin, []string{"-addr", "127.0.0.1:0", "-max-retained", "0"}, baseEnv(), s.stderr, "export VISA_MERCHANT_URL=")
	require.NoError(t, err, "sandbox stderr:\n%s", s.stderr.String())
	s.process = p
	for _, line := range append(lines, last) {
		name, value, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok || !strings.HasPrefix(line, "export ") {
			continue
		}
		s.env[name] = strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(value, "'"), "'"), `'\''`, "'")
	}
	require.NotEmpty(t, s.env["VISA_VTS_BASE_URL"], "the sandbox printed its base URL")
	require.NotEmpty(t, s.env["VISA_MERCHANT_URL"], "the sandbox printed its merchant URL")
	s.admin = strings.TrimRight(s.env["VISA_VTS_BASE_URL"], "/")
	return s
}

// setFaults switches the sandbox's faults on through its admin endpoint.
func (s *sandboxProc) setFaults(ctx context.Context, p sandbox.FaultPlan) error {
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return s.adminCall(ctx, http.MethodPost, "/sandbox/v1/admin/faults", body, nil)
}

// clearFaults switches them off.
func (s *sandboxProc) clearFaults(ctx context.Context) error {
	return s.adminCall(ctx, http.MethodDelete, "/sandbox/v1/admin/faults", nil, nil)
}

// state is the sandbox's inspection API: GET /sandbox/v1/admin/state.
func (s *sandboxProc) state(ctx context.Context) (sandbox.Snapshot, error) {
	var snap sandbox.Snapshot
	err := s.adminCall(ctx, http.MethodGet, "/sandbox/v1/admin/state", nil, &snap)
	return snap, err
}

func (s *sandboxProc) adminCall(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, s.admin+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("sandbox admin %s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// replica is one slot of the fleet: the replica binary, restarted after
// every kill under the same name.
type replica struct {
	idx    int
	name   string
	bin    string
	args   []string
	env    []string
	stderr *syncBuffer

	mu   sync.Mutex
	proc *process
	url  string        // "" while down
	up   chan struct{} // closed when url is set
	// starts counts processes started; kills counts SIGKILLs.
	starts, kills int
	// inflight counts requests under way to the current process.
	inflight atomic.Int64
}

func newReplica(idx int, bin string, args, env []string) *replica {
	return &replica{idx: idx, name: fmt.Sprintf("replica-%d", idx+1), bin: bin, args: args, env: env,
		stderr: &syncBuffer{}, up: make(chan struct{})}
}

// launch starts a process for the slot and marks it up.
func (r *replica) launch(ctx context.Context) error {
	p, line, _, err := start(ctx, r.bin, append([]string{"-name", r.name}, r.args...), r.env, r.stderr, URLLine)
	if err != nil {
		return fmt.Errorf("%s: %w", r.name, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.proc, r.url = p, strings.TrimPrefix(line, URLLine)
	r.starts++
	close(r.up)
	return nil
}

// current returns the URL of the live process, waiting while it restarts.
func (r *replica) current(ctx context.Context) (string, error) {
	for {
		r.mu.Lock()
		u, up := r.url, r.up
		r.mu.Unlock()
		if u != "" {
			return u, nil
		}
		select {
		case <-up:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// isUp reports whether the slot has a live process.
func (r *replica) isUp() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.url != ""
}

// crash kills the process with SIGKILL and reaps it; it returns how many
// requests were under way to it.
func (r *replica) crash() int64 {
	r.mu.Lock()
	p := r.proc
	r.url, r.proc, r.up = "", nil, make(chan struct{})
	r.kills++
	r.mu.Unlock()
	n := r.inflight.Load()
	if p != nil {
		p.kill()
	}
	return n
}

// shutdown stops the live process gracefully.
func (r *replica) shutdown(grace time.Duration) error {
	r.mu.Lock()
	p := r.proc
	r.url, r.proc, r.up = "", nil, make(chan struct{})
	r.mu.Unlock()
	if p == nil {
		return nil
	}
	return p.stop(grace)
}

// killer kills a random replica every gap (drawn from [minGap, maxGap))
// and restarts it at once, until stop is closed.
type killer struct {
	replicas       []*replica
	minGap, maxGap time.Duration
	rng            *rand.Rand

	mu      sync.Mutex
	kills   int
	cut     int64 // requests under way at the moments of the kills
	restart []time.Duration
	errs    []error
}

func (k *killer) run(ctx context.Context, stop <-chan struct{}) {
	for {
		gap := k.minGap + time.Duration(k.rng.Int64N(int64(k.maxGap-k.minGap)))
		t := time.NewTimer(gap)
		select {
		case <-stop:
			t.Stop()
			return
		case <-t.C:
		}
		r := k.replicas[k.rng.IntN(len(k.replicas))]
		began := time.Now()
		cut := r.crash()
		err := r.launch(ctx)
		k.mu.Lock()
		k.kills++
		k.cut += cut
		k.restart = append(k.restart, time.Since(began))
		if err != nil {
			k.errs = append(k.errs, err)
		}
		k.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// sealerKeys returns a fresh VISA_SEALER_KEYS value the replicas share.
func sealerKeys() string {
	key := make([]byte, 32)
	_, _ = crand.Read(key)
	return "fleet:" + base64.StdEncoding.EncodeToString(key)
}

var errTransport = errors.New("fleet: no answer from the replica")
