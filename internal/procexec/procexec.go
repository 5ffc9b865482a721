// Package procexec is the one place where pipelined starts, signals and reaps a
// subprocess. Every command runs in a process group of its own, under a context: when the
// context ends (cancel or timeout) the group gets SIGTERM, and SIGKILL after a grace
// period; when the command ends, whatever it left behind in its group is killed too, so that
// a step cannot leak processes past its end (SPEC §7.4, "Cancellation is a feature").
package procexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"pipelined/internal/shellwords"
)

// Cmd describes one command. Nothing is inherited implicitly: Env is the complete
// environment, and standard input is /dev/null.
type Cmd struct {
	Argv    []string      // program and arguments; never interpreted by a shell
	Dir     string        // working directory; "" for the current one
	Env     []string      // complete environment, NAME=value
	Output  io.Writer     // receives stdout and stderr together; nil discards them
	Timeout time.Duration // 0 for none; ends the command like a cancel, reported as TimedOut
	Grace   time.Duration // SIGTERM → SIGKILL of the group; 0 means DefaultGrace
	// Detach lets the command outlive this process: without it the kernel kills the command
	// if this process dies (Pdeathsig). Builds started by the supervisor are detached, so
	// that a crashed supervisor does not take running builds with it (SPEC §5, §8).
	Detach bool
	// OnStop, if set, is called (on a goroutine of its own) when the command is being
	// stopped by cancel or timeout, at the moment it gets SIGTERM. It stops what is outside
	// the process group: a container keeps running when its docker client is killed.
	// Wait returns only after OnStop has returned.
	OnStop func()
	// ExtraFiles are handed to the command as file descriptors 3, 4, …: the supervisor hands
	// a build the job file it has already locked.
	ExtraFiles []*os.File
	// OnStart, if set, is called with the command's process id once it has started, before
	// anything else can happen to it: the build records its process groups there.
	OnStart func(pid int)
}

// DefaultGrace is the time a command has between SIGTERM and SIGKILL when Cmd.Grace is 0.
const DefaultGrace = 10 * time.Second

// ProbeGrace is the grace of a probe (docker version, rsync --version): it holds nothing
// to clean up, so a second is plenty.
const ProbeGrace = time.Second

// GraceOr is grace, or DefaultGrace when grace is not set (0 or less): the one place the
// default is applied.
func GraceOr(grace time.Duration) time.Duration {
	if grace <= 0 {
		return DefaultGrace
	}
	return grace
}

// Result is what happened to a command that started.
type Result struct {
	Argv     []string
	Pid      int
	Start    time.Time
	Duration time.Duration
	ExitCode int            // -1 when killed by a signal
	Signal   syscall.Signal // the signal that killed it, or 0
	Canceled bool           // the caller's context ended
	TimedOut bool           // Cmd.Timeout passed
}

// ErrCanceled and ErrTimedOut are returned (wrapped) when a command was stopped because its
// context was canceled or its timeout passed, whatever its exit status then was.
var (
	ErrCanceled = errors.New("canceled")
	ErrTimedOut = errors.New("timed out")
)

// ExitError is a command that ran to its end and failed.
type ExitError struct {
	Argv   []string
	Code   int            // exit status, or -1 for a signal
	Signal syscall.Signal // the signal that killed it, or 0
}

func (e *ExitError) Error() string { return e.Argv[0] + " " + EndedText(e.Code, e.Signal) }

// EndedText says how a process ended, after its name: "exited with status 2", "was killed
// by signal 9 (SIGKILL)". It is the one wording of an ending in logs, reasons and errors.
func EndedText(code int, sig syscall.Signal) string {
	if sig != 0 {
		return "was killed by " + SignalText(sig)
	}
	return "exited with status " + strconv.Itoa(code)
}

// Process is a started command.
type Process struct {
	Pid  int
	done chan struct{}
	res  Result
	err  error
}

// Run starts the command and waits for it; see [Process.Wait] for what it returns.
func Run(ctx context.Context, c Cmd) (Result, error) {
	p, err := Start(ctx, c)
	if err != nil {
		return Result{Argv: c.Argv, ExitCode: -1}, err
	}
	return p.Wait()
}

// Start starts the command in a process group of its own. When ctx ends or the timeout
// passes, the group gets SIGTERM, then SIGKILL after the grace period. An error means the
// command did not start.
func Start(ctx context.Context, c Cmd) (*Process, error) {
	if len(c.Argv) == 0 {
		return nil, errors.New("procexec: empty command")
	}
	p := &Process{done: make(chan struct{})}
	started := make(chan error, 1)
	go p.run(ctx, c, started)
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// Wait waits for the command to end. It returns an error wrapping ErrCanceled or
// ErrTimedOut if the command was stopped, or an *ExitError if it failed on its own.
func (p *Process) Wait() (Result, error) {
	<-p.done
	return p.res, p.err
}

// Done is closed when the command has ended.
func (p *Process) Done() <-chan struct{} { return p.done }

// Signal sends sig to the command's process group.
func (p *Process) Signal(sig syscall.Signal) error { return KillGroup(p.Pid, sig) }

// run starts, watches and reaps the command on one goroutine locked to its OS thread:
// Pdeathsig fires when the thread that forked the child exits, not the process, so the
// thread must live until Wait returns (golang/go#27505).
func (p *Process) run(ctx context.Context, c Cmd, started chan<- error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(p.done)

	grace := GraceOr(c.Grace)
	runCtx := ctx
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	cmd := execCmd(runCtx, c, grace)
	p.res = Result{Argv: c.Argv, ExitCode: -1, Start: time.Now()}
	if err := cmd.Start(); err != nil {
		p.err = fmt.Errorf("starting %s: %w", c.Argv[0], err)
		started <- p.err
		return
	}
	p.Pid = cmd.Process.Pid
	p.res.Pid = p.Pid
	if c.OnStart != nil {
		c.OnStart(p.Pid)
	}
	started <- nil

	waited := make(chan struct{})
	escalated := make(chan struct{})
	go func() {
		defer close(escalated)
		p.escalate(runCtx, c.OnStop, grace, waited)
	}()
	waitErr := cmd.Wait()
	p.res.Duration = time.Since(p.res.Start)
	close(waited)
	<-escalated
	// The command is over: nothing it started in its group may outlive it.
	_ = KillGroup(p.Pid, syscall.SIGKILL)

	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		switch {
		case ws.Exited():
			p.res.ExitCode = ws.ExitStatus()
		case ws.Signaled():
			p.res.Signal = ws.Signal()
		}
	}
	p.res, p.err = ending(p.res, c.Timeout, ctx.Err() != nil, runCtx.Err() != nil, waitErr)
}

// execCmd is the exec.Cmd of c: in a process group of its own, killed with this process
// unless detached, and sent SIGTERM, as a group, when runCtx ends.
func execCmd(runCtx context.Context, c Cmd, grace time.Duration) *exec.Cmd {
	cmd := exec.CommandContext(runCtx, c.Argv[0], c.Argv[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = c.Env
	if cmd.Env == nil {
		cmd.Env = []string{} // nil would mean "inherit"; the caller decides everything
	}
	if c.Output != nil {
		cmd.Stdout = c.Output
		cmd.Stderr = c.Output
	}
	cmd.ExtraFiles = c.ExtraFiles
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if !c.Detach {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	cmd.Cancel = func() error {
		return KillGroup(cmd.Process.Pid, syscall.SIGTERM)
	}
	// A grandchild that keeps an output pipe open would block Wait forever; after the grace
	// period (and a second for the SIGKILL below to land) Wait stops waiting for it.
	cmd.WaitDelay = grace + time.Second
	return cmd
}

// escalate waits for the command to end (waited closed) or runCtx to end. In the second
// case cmd.Cancel has sent SIGTERM to the group: it calls onStop, and sends SIGKILL to the
// group unless the command ends within grace. It returns once onStop has returned.
func (p *Process) escalate(runCtx context.Context, onStop func(), grace time.Duration, waited <-chan struct{}) {
	select {
	case <-waited:
		return
	case <-runCtx.Done():
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if onStop != nil {
			onStop()
		}
	}()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-waited:
	case <-t.C:
		_ = KillGroup(p.Pid, syscall.SIGKILL)
	}
	<-stopped
}

// ending is the result and error of a command that ended with res's exit status: canceled
// when its caller's context ended, timed out when its timeout passed, whatever its status
// then was; an *ExitError when it failed on its own.
func ending(res Result, timeout time.Duration, canceled, timedOut bool, waitErr error) (Result, error) {
	switch {
	case canceled:
		res.Canceled = true
		return res, fmt.Errorf("%s: %w", res.Argv[0], ErrCanceled)
	case timedOut:
		res.TimedOut = true
		return res, fmt.Errorf("%s after %v: %w", res.Argv[0], timeout, ErrTimedOut)
	case res.ExitCode == 0 && errors.Is(waitErr, exec.ErrWaitDelay):
		// It succeeded; only a leftover grandchild held its output open.
		return res, nil
	case res.ExitCode != 0 || res.Signal != 0:
		return res, &ExitError{Argv: res.Argv, Code: res.ExitCode, Signal: res.Signal}
	case waitErr != nil:
		return res, fmt.Errorf("waiting for %s: %w", res.Argv[0], waitErr)
	}
	return res, nil
}

// Prompt is the line build.log shows for a command: "$ " and the shell-quoted arguments.
func Prompt(argv []string) string { return "$ " + shellwords.Join(argv) }

// KillGroup sends sig to the process group pgid, treating a group that is already gone as
// success.
func KillGroup(pgid int, sig syscall.Signal) error {
	return ignoreGone(syscall.Kill(-pgid, sig))
}

func ignoreGone(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, syscall.ESRCH) || errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}
