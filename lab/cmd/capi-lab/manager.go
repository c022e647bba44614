package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/terraform-capi/terraform-provider-capi/lab/internal/mgmt"
)

// Files of the manager in the lab directory.
const (
	managerInfoFile = "manager.json"    // the running child, removed when it exits
	managerLogFile  = "manager.log"     // its stdout and stderr
	managerStopFile = "manager.stopped" // capi-lab manager stop: no restart until removed
	// managerLabFile holds the pid of the lab that supervises a manager,
	// for as long as it does: how the manager subcommands tell a lab with
	// --manager from one without while the manager is not running.
	managerLabFile = "manager.supervisor"
)

const (
	managerBackoff = 2 * time.Second        // before a crashed manager is restarted
	managerGrace   = 15 * time.Second       // between SIGTERM and SIGKILL
	managerPoll    = 250 * time.Millisecond // how often the supervisor looks for the stop marker
)

// managerInfo is manager.json.
type managerInfo struct {
	PID     int    `json:"pid"`
	Metrics string `json:"metrics"`
	Health  string `json:"health"`
	Path    string `json:"path"`
}

func writeManagerInfo(dir mgmt.Dir, info managerInfo) error {
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	// Renamed into place, so that a reader never sees half a file.
	tmp := dir.Path(managerInfoFile + ".tmp")
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, dir.Path(managerInfoFile))
}

func readManagerInfo(dir mgmt.Dir) (managerInfo, error) {
	var info managerInfo
	data, err := os.ReadFile(dir.Path(managerInfoFile))
	if err != nil {
		return info, err
	}
	return info, json.Unmarshal(data, &info)
}

// liveManager is the manager of manager.json if it still runs.
func liveManager(dir mgmt.Dir) (managerInfo, bool) {
	info, err := readManagerInfo(dir)
	return info, err == nil && info.PID > 0 && alive(info.PID)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// managerArgs are the flags a Deployment of the manager would set, on
// loopback, then the user's own.
func managerArgs(kubeconfig string, metricsPort, healthPort int, extra []string) []string {
	return append([]string{
		"--kubeconfig", kubeconfig,
		"--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", metricsPort),
		"--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", healthPort),
	}, extra...)
}

// loopbackPort returns prefer if it is still free, so that a restarted
// manager keeps its URLs, or else a free port other than avoid. Ports are
// picked below Linux's ephemeral range, as the lab's own are, so that no
// outgoing connection takes one before the manager binds it.
func loopbackPort(prefer, avoid int) (int, error) {
	free := func(port int) bool {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return false
		}
		_ = l.Close()
		return true
	}
	if prefer != 0 && prefer != avoid && free(prefer) {
		return prefer, nil
	}
	for range 200 {
		if port := 20000 + rand.IntN(32768-20000); port != avoid && free(port) {
			return port, nil
		}
	}
	return 0, errors.New("no free port on 127.0.0.1 for the manager")
}

// supervisor runs the manager as a child of the lab the way a Deployment
// runs its pod: started once the API server is ready, restarted when it
// exits, stopped when the lab stops or manager.stopped appears.
type supervisor struct {
	dir  mgmt.Dir
	path string   // the manager's executable, absolute
	args []string // --manager-arg
	env  []string // the child's whole environment
	// ready returns once the API server answers (an error: it never will).
	ready   func(context.Context) error
	logf    func(format string, args ...any)
	backoff time.Duration
	grace   time.Duration
}

// run supervises until ctx ends, and returns once the manager has exited.
func (s *supervisor) run(ctx context.Context) {
	// The child gets SIGKILL if the thread that started it exits (Linux's
	// parent-death signal is per thread), so that it never outlives a
	// lab that is killed: this goroutine keeps one thread for the lab's life.
	runtime.LockOSThread()
	if err := os.WriteFile(s.dir.Path(managerLabFile), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		s.logf("%v", err)
	}
	defer os.Remove(s.dir.Path(managerLabFile))
	if err := s.ready(ctx); err != nil {
		s.logf("not started: %v", err)
		return
	}
	var ports [2]int
	for {
		if exists(s.dir.Path(managerStopFile)) {
			s.logf("stopped; 'capi-lab manager start' starts it again")
			for exists(s.dir.Path(managerStopFile)) {
				select {
				case <-ctx.Done():
					return
				case <-time.After(managerPoll):
				}
			}
		}
		err := s.runOnce(ctx, &ports)
		if ctx.Err() != nil {
			return
		}
		if exists(s.dir.Path(managerStopFile)) {
			continue // stopped on purpose: wait for manager start
		}
		s.logf("%v; restarting in %s", err, s.backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.backoff):
		}
	}
}

// runOnce starts the manager and waits until it exits, stopping it when
// ctx ends or the stop marker appears. ports are its metrics and health
// ports, kept for the next start.
func (s *supervisor) runOnce(ctx context.Context, ports *[2]int) error {
	var err error
	if ports[0], err = loopbackPort(ports[0], 0); err != nil {
		return err
	}
	if ports[1], err = loopbackPort(ports[1], ports[0]); err != nil {
		return err
	}
	out, err := os.OpenFile(s.dir.Path(managerLogFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.Command(s.path, managerArgs(s.dir.Kubeconfig(), ports[0], ports[1], s.args)...)
	cmd.Env, cmd.Stdout, cmd.Stderr = s.env, out, out
	// A process group of its own: a terminal's Ctrl-C reaches the lab
	// only, which then stops the manager itself rather than seeing a crash.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", s.path, err)
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	info := managerInfo{PID: pid, Path: s.path,
		Metrics: fmt.Sprintf("http://127.0.0.1:%d/metrics", ports[0]),
		Health:  fmt.Sprintf("http://127.0.0.1:%d/healthz", ports[1])}
	if err := writeManagerInfo(s.dir, info); err != nil {
		s.logf("%v", err)
	}
	defer os.Remove(s.dir.Path(managerInfoFile))
	s.logf("started pid %d (metrics %s, output %s)", pid, info.Metrics, s.dir.Path(managerLogFile))

	tick := time.NewTicker(managerPoll)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			if err == nil {
				err = errors.New("exit status 0")
			}
			return fmt.Errorf("pid %d exited: %w", pid, err)
		case <-ctx.Done():
			return s.terminate(pid, exited)
		case <-tick.C:
			if exists(s.dir.Path(managerStopFile)) {
				return s.terminate(pid, exited)
			}
		}
	}
}

// terminate stops the manager as the kubelet stops a pod: SIGTERM, once
// (a second one makes a controller-runtime manager exit at once, without
// releasing its leader lease), then SIGKILL to its process group.
func (s *supervisor) terminate(pid int, exited <-chan error) error {
	s.logf("stopping pid %d", pid)
	_ = syscall.Kill(pid, syscall.SIGTERM)
	select {
	case err := <-exited:
		return err
	case <-time.After(s.grace):
		s.logf("pid %d still running %s after SIGTERM: killing it", pid, s.grace)
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		return <-exited
	}
}

// supervising fails unless a lab runs in dir with --manager.
func supervising(dir mgmt.Dir) error {
	pid, ok := running(dir)
	if !ok {
		return fmt.Errorf("capi-lab is not running in %s", dir)
	}
	data, err := os.ReadFile(dir.Path(managerLabFile))
	if err != nil || strings.TrimSpace(string(data)) != strconv.Itoa(pid) {
		return fmt.Errorf("the lab in %s runs no manager: it was started without --manager", dir)
	}
	return nil
}

// stopManager writes the stop marker and waits until the manager is gone,
// reporting whether one ran. The lab sends the signals: a second SIGTERM
// from here would cut the manager's graceful stop short.
func stopManager(dir mgmt.Dir) (bool, error) {
	if err := os.WriteFile(dir.Path(managerStopFile), nil, 0o600); err != nil {
		return false, err
	}
	ran := false
	// At least one poll of the supervisor's, in case it was starting the
	// manager as the marker appeared.
	since := time.Now()
	for deadline := since.Add(managerGrace + 5*time.Second); ; time.Sleep(50 * time.Millisecond) {
		info, live := liveManager(dir)
		if !live {
			if time.Since(since) > 2*managerPoll {
				return ran, nil
			}
			continue
		}
		ran = true
		if time.Now().After(deadline) {
			// The lab did not stop it: it must not keep running.
			_ = syscall.Kill(-info.PID, syscall.SIGKILL)
			_ = syscall.Kill(info.PID, syscall.SIGKILL)
		}
	}
}

// manager is capi-lab manager stop|start|status.
func manager(args []string) error {
	const usage = "usage: capi-lab manager stop|start|status [--dir D]"
	if len(args) == 0 {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("manager "+args[0], flag.ContinueOnError)
	dir, err := parse(fs, args[1:], dirFlag(fs))
	if err != nil {
		return err
	}
	switch args[0] {
	case "stop", "start", "status":
	default:
		return errors.New(usage)
	}
	if err := supervising(dir); err != nil {
		return err
	}
	switch args[0] {
	case "stop":
		ran, err := stopManager(dir)
		if err == nil && ran {
			fmt.Println("manager stopped")
		} else if err == nil {
			fmt.Println("manager was not running; it stays stopped")
		}
		return err
	case "start":
		if err := os.Remove(dir.Path(managerStopFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		// The supervisor polls for the marker, or is in its restart backoff.
		for deadline := time.Now().Add(managerBackoff + 8*time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if info, ok := liveManager(dir); ok {
				fmt.Printf("manager running (pid %d)\n", info.PID)
				return nil
			}
		}
		return fmt.Errorf("the manager did not start; see %s", dir.LogFile())
	default:
		if info, ok := liveManager(dir); ok {
			fmt.Printf("running (pid %d, metrics %s, health %s)\n", info.PID, info.Metrics, info.Health)
		} else if exists(dir.Path(managerStopFile)) {
			fmt.Println("stopped ('capi-lab manager start' starts it)")
		} else {
			fmt.Printf("stopped (the lab starts it again; see %s)\n", dir.LogFile())
		}
		return nil
	}
}
