package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// -detach starts the same command again without -detach, in the
// background, and waits on a pipe for the child to say it serves (after
// writing the environment file) or why it could not. The shell that ran
// "visa-sandbox -env-file sandbox.env -detach" can then source the file at
// once: there is no window where the file is missing or the port closed.

// readyFDVar names the child's end of the pipe (always descriptor 3).
const readyFDVar = "VISA_SANDBOX_READY_FD"

// detachWait bounds the wait for the child: fresh keys take a moment on a
// loaded machine, not minutes.
const detachWait = 2 * time.Minute

// notifier is the child's end of the pipe; the zero value (not detached)
// does nothing.
type notifier struct{ f *os.File }

func readyNotifier() notifier {
	if os.Getenv(readyFDVar) != "3" {
		return notifier{}
	}
	_ = os.Unsetenv(readyFDVar)
	return notifier{f: os.NewFile(3, "ready")}
}

func (n notifier) ok() { n.say("ok") }

func (n notifier) fail(err error) { n.say("error: " + strings.ReplaceAll(err.Error(), "\n", " ")) }

func (n notifier) say(line string) {
	if n.f == nil {
		return
	}
	_, _ = io.WriteString(n.f, line+"\n")
	_ = n.f.Close()
}

// detach runs the server in a child process and returns once it serves.
func detach(ctx context.Context, o options, args []string, stderr io.Writer) error {
	if runtime.GOOS == "windows" {
		return errors.New("-detach is not supported on Windows: run visa-sandbox in its own terminal instead")
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("-detach: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("-detach: %w", err)
	}
	defer r.Close()
	cmd := exec.Command(exe, withoutDetach(args)...)
	cmd.Env = append(os.Environ(), readyFDVar+"=3")
	cmd.ExtraFiles = []*os.File{w} // descriptor 3 in the child
	// No standard streams: a background server must not hold the
	// caller's terminal or pipes (a caller reading our output would wait
	// for the server to exit). Its logs are discarded; run it without
	// -detach to see them.
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	err = cmd.Start()
	_ = w.Close()
	if err != nil {
		return fmt.Errorf("-detach: starting the server: %w", err)
	}
	_ = r.SetReadDeadline(time.Now().Add(detachWait))
	line, rerr := bufio.NewReader(r).ReadString('\n')
	line = strings.TrimSpace(line)
	if line == "ok" {
		pid := cmd.Process.Pid
		_ = cmd.Process.Release()
		fmt.Fprintf(stderr, "visa-sandbox: serving in the background (pid %d); environment in %s: . %s\n"+
			"visa-sandbox: stop it with kill %d (or kill \"$VISA_SANDBOX_PID\" once the file is sourced)\n",
			pid, o.envFile, shellPath(o.envFile), pid)
		return nil
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if msg, ok := strings.CutPrefix(line, "error: "); ok {
		return errors.New(msg)
	}
	if rerr != nil && ctx.Err() == nil {
		return fmt.Errorf("-detach: the server did not start: %w", rerr)
	}
	return errors.New("-detach: the server did not start")
}

// withoutDetach drops -detach (in any of the flag package's spellings).
func withoutDetach(args []string) []string {
	var out []string
	for _, a := range args {
		name := strings.TrimLeft(a, "-")
		if len(name) < len(a) && len(a)-len(name) <= 2 {
			if n, v, hasValue := strings.Cut(name, "="); n == "detach" {
				if b, err := strconv.ParseBool(v); hasValue && err == nil && !b {
					out = append(out, a) // -detach=false stays as it was
				}
				continue
			}
		}
		out = append(out, a)
	}
	return out
}
