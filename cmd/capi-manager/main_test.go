package main

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/terraform-capi/terraform-provider-capi/internal/identity"
)

func parse(t *testing.T, args ...string) (flags, error) {
	t.Helper()
	fs := flag.NewFlagSet("capi-manager", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return parseFlags(fs, args)
}

// The defaults are upstream Cluster API managers'.
func TestFlagDefaults(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "")
	f, err := parse(t)
	if err != nil {
		t.Fatal(err)
	}
	want := flags{
		leaderElect: true, leaderElectionID: identity.ManagerLeaderElectionID, leaderElectionNamespace: identity.ManagerNamespace,
		leaseDuration: 15 * time.Second, renewDeadline: 10 * time.Second, retryPeriod: 2 * time.Second,
		metricsAddr: ":8080", healthAddr: ":9440", watchFilter: identity.WatchFilterValue,
		syncPeriod: 10 * time.Minute, concurrency: 10, qps: 50, burst: 100, installCRDs: true, drainTimeout: 20 * time.Second,
	}
	if f != want {
		t.Errorf("defaults:\n got %+v\nwant %+v", f, want)
	}
}

// In a Deployment the Lease goes where the pod runs, unless told otherwise.
func TestLeaderElectionNamespace(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "capi-system")
	if f, err := parse(t); err != nil || f.leaderElectionNamespace != "capi-system" {
		t.Errorf("from POD_NAMESPACE: %q, %v", f.leaderElectionNamespace, err)
	}
	if f, err := parse(t, "--leader-election-namespace", "ops"); err != nil || f.leaderElectionNamespace != "ops" {
		t.Errorf("from the flag: %q, %v", f.leaderElectionNamespace, err)
	}
	// Upstream's flag name and the older alias both set the health address.
	if f, err := parse(t, "--health-probe-bind-address", "127.0.0.1:9"); err != nil || f.healthAddr != "127.0.0.1:9" {
		t.Errorf("--health-probe-bind-address: %q, %v", f.healthAddr, err)
	}
}

func TestFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--concurrency", "0"}, "--concurrency must be at least 1, not 0"},
		{[]string{"--leader-elect-renew-deadline", "20s"}, "--leader-elect-renew-deadline (20s) must be shorter than --leader-elect-lease-duration (15s)"},
		{[]string{"--sync-period", "often"}, `invalid value "often" for flag -sync-period`},
	} {
		if _, err := parse(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}
