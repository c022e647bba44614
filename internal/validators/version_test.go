package validators

import (
	"strings"
	"testing"

	"github.com/blang/semver/v4"
)

func TestParseKubernetesVersion(t *testing.T) {
	good := map[string]semver.Version{
		"v1.36.0":         {Major: 1, Minor: 36},
		"v1.36.12":        {Major: 1, Minor: 36, Patch: 12},
		"v1.37.0-rc.1":    {Major: 1, Minor: 37, Pre: []semver.PRVersion{{VersionStr: "rc"}, {VersionNum: 1, IsNum: true}}},
		"v1.37.0-beta.0":  {Major: 1, Minor: 37, Pre: []semver.PRVersion{{VersionStr: "beta"}, {VersionNum: 0, IsNum: true}}},
		"v1.37.0-alpha.3": {Major: 1, Minor: 37, Pre: []semver.PRVersion{{VersionStr: "alpha"}, {VersionNum: 3, IsNum: true}}},
	}
	for s, want := range good {
		got, err := ParseKubernetesVersion(s)
		if err != nil || !got.Equals(want) || got.String() != strings.TrimPrefix(s, "v") {
			t.Errorf("ParseKubernetesVersion(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	bad := map[string]string{
		"v1.36.0-garbage": `v1.36.0-garbage has the pre-release "garbage": Kubernetes releases only -alpha.N, -beta.N and -rc.N`,
		"v1.36.0-rc1":     `has the pre-release "rc1"`,
		"v1.36.0-rc.01":   `has the pre-release "rc.01"`,
		"v1.36.0-rc.1.2":  `has the pre-release "rc.1.2"`,
		"1.36.0":          "1.36.0 lacks the leading v of Kubernetes versions: write v1.36.0",
		"v1.36":           "v1.36 lacks the patch number: Kubernetes versions are v<major>.<minor>.<patch>, such as v1.36.0",
		"1.36":            "such as v1.36.0",
		"v1.36.0+build.1": "v1.36.0+build.1 has build metadata: Kubernetes release versions have none",
		"v1.036.0":        "v1.036.0 is not a Kubernetes version",
		"V1.36.0":         "is not a Kubernetes version",
		"latest":          "latest is not a Kubernetes version",
		" v1.36.0":        "is not a Kubernetes version",
		"":                "the version is empty",
	}
	for s, want := range bad {
		if _, err := ParseKubernetesVersion(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseKubernetesVersion(%q) = %v, want %q", s, err, want)
		}
	}
}

func TestMachineVersionSkew(t *testing.T) {
	cases := []struct {
		controlPlane, machine string
		want                  []string // all must appear; none for no error
	}{
		{"v1.36.0", "v1.36.0", nil},
		{"v1.36.2", "v1.36.0", nil},
		{"v1.36.0", "v1.36.3", nil}, // newer patch: Cluster API compares minors
		{"v1.37.0-rc.1", "v1.37.0-rc.1", nil},
		{"v1.37.0", "v1.37.0-rc.1", nil},
		{"v1.36.0", "v1.35.4", []string{
			"machine version v1.35.4 is not of the control plane's minor version v1.36: kubeadm joins only nodes of the control plane's major and minor version (Cluster API's KubeadmVersionSkew preflight check"}},
		{"v1.36.0", "v1.37.0", []string{
			"machine version v1.37.0 is newer than the control plane's v1.36.0: kubelet may not be newer than kube-apiserver (Kubernetes version skew policy; Cluster API's KubernetesVersionSkew preflight check)",
			"KubeadmVersionSkew"}},
		{"v1.36.0", "v1.32.0", []string{
			"machine version v1.32.0 is more than 3 minor versions older than the control plane's v1.36.0: kubelet may be at most 3 minors older than kube-apiserver",
			"KubeadmVersionSkew"}},
		{"v1.36.0", "v1.33.0", []string{"KubeadmVersionSkew"}},
		{"v1.36.0", "v2.36.0", []string{"KubeadmVersionSkew"}},
		{"v1.36", "v1.36.0", []string{"control plane version: v1.36 lacks the patch number"}},
		{"v1.36.0", "1.36.0", []string{"machine version: 1.36.0 lacks the leading v"}},
	}
	for _, c := range cases {
		err := MachineVersionSkew(c.controlPlane, c.machine)
		if len(c.want) == 0 {
			if err != nil {
				t.Errorf("MachineVersionSkew(%q, %q) = %v", c.controlPlane, c.machine, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("MachineVersionSkew(%q, %q) = nil, want %q", c.controlPlane, c.machine, c.want)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("MachineVersionSkew(%q, %q) = %v, want it to say %q", c.controlPlane, c.machine, err, w)
			}
		}
	}
	// Older by up to three minors breaks only kubeadm's rule, not kubelet's.
	if err := MachineVersionSkew("v1.36.0", "v1.33.0"); strings.Contains(err.Error(), "KubernetesVersionSkew") {
		t.Errorf("three minors older reported as a kubelet skew: %v", err)
	}
}

func TestControlPlaneUpgrade(t *testing.T) {
	cases := []struct {
		from, to string
		want     string
	}{
		{"v1.36.0", "v1.36.0", ""},
		{"v1.36.0", "v1.36.4", ""},
		{"v1.35.2", "v1.36.0", ""},
		{"v1.35.2", "v1.36.7", ""},
		{"v1.35.9", "v1.36.0-rc.1", ""},
		{"v1.36.0-rc.1", "v1.36.0", ""},
		{"v1.36.0", "v1.36.0-rc.1", ""}, // Cluster API compares without pre-releases
		{"v1.35.2", "v1.37.0-alpha.1", "v1.35.2 to v1.37.0-alpha.1 goes past v1.36"},
		{"v1.34.3", "v1.36.0", "v1.34.3 to v1.36.0 goes past v1.35: the control plane upgrades one minor version at a time (Cluster API's KubeadmControlPlane webhook, kubeadm's upgrade policy); upgrade to v1.35 first"},
		{"v1.36.0", "v2.0.0", "goes past v1.37"},
		{"v1.36.2", "v1.36.1", "v1.36.2 to v1.36.1 lowers the version: Cluster API refuses to decrease a cluster's Kubernetes version"},
		{"v1.36.0", "v1.35.9", "v1.36.0 to v1.35.9 lowers the version"},
		{"v1.36.0", "v1.36", "new version: v1.36 lacks the patch number"},
		{"1.36.0", "v1.36.1", "current version: 1.36.0 lacks the leading v"},
	}
	for _, c := range cases {
		err := ControlPlaneUpgrade(c.from, c.to)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("ControlPlaneUpgrade(%q, %q) = %v", c.from, c.to, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("ControlPlaneUpgrade(%q, %q) = %v, want %q", c.from, c.to, err, c.want)
		}
	}
}
