package validators

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/blang/semver/v4"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	capiversion "sigs.k8s.io/cluster-api/util/version"
)

// kubernetesRelease is the form of Kubernetes release versions
// (kubernetes/sig-release, release-engineering/versioning.md): vX.Y.Z, and
// before a minor's release vX.Y.0-alpha.N, -beta.N and -rc.N. Cluster API
// takes any semantic version with a leading v, but images and packages
// exist only for these (registry.k8s.io/kube-apiserver:v1.36.0).
var kubernetesRelease = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:-(?:alpha|beta|rc)\.(?:0|[1-9][0-9]*))?$`)

var majorMinor = regexp.MustCompile(`^v?[0-9]+\.[0-9]+$`)

// ParseKubernetesVersion parses a Kubernetes release version such as
// v1.36.0 or v1.37.0-rc.1.
func ParseKubernetesVersion(s string) (semver.Version, error) {
	if !kubernetesRelease.MatchString(s) {
		return semver.Version{}, kubernetesVersionError(s)
	}
	return semver.Parse(s[1:])
}

// kubernetesVersionError says what keeps s from being a release version.
func kubernetesVersionError(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("the version is empty: Kubernetes versions look like v1.36.0")
	case !strings.HasPrefix(s, "v") && kubernetesRelease.MatchString("v"+s):
		return fmt.Errorf("%s lacks the leading v of Kubernetes versions: write v%s", s, s)
	case majorMinor.MatchString(s):
		return fmt.Errorf("%s lacks the patch number: Kubernetes versions are v<major>.<minor>.<patch>, such as %s.0",
			s, "v"+strings.TrimPrefix(s, "v"))
	case strings.Contains(s, "+"):
		return fmt.Errorf("%s has build metadata: Kubernetes release versions have none", s)
	}
	if base, pre, found := strings.Cut(s, "-"); found && kubernetesRelease.MatchString(base) {
		return fmt.Errorf("%s has the pre-release %q: Kubernetes releases only -alpha.N, -beta.N and -rc.N", s, pre)
	}
	return fmt.Errorf("%s is not a Kubernetes version: v<major>.<minor>.<patch>, such as v1.36.0", s)
}

// KubernetesVersion accepts a Kubernetes release version: v, major, minor
// and patch, and optionally -alpha.N, -beta.N or -rc.N.
func KubernetesVersion() validator.String {
	return stringRule{
		description: "a Kubernetes version such as v1.36.0",
		check: func(s string) []string {
			if _, err := ParseKubernetesVersion(s); err != nil {
				return []string{err.Error()}
			}
			return nil
		},
	}
}

// maxKubeletMinorSkew is how many minor versions kubelet may be older than
// kube-apiserver (Kubernetes version skew policy,
// https://kubernetes.io/releases/version-skew-policy/#kubelet).
const maxKubeletMinorSkew = 3

// MachineVersionSkew checks a kubeadm-bootstrapped machine's version
// against its control plane's, refusing what Cluster API's MachineSet
// preflight checks hold (sigs.k8s.io/cluster-api
// core/reconcilers/machineset/machineset_preflight.go), where a MachineSet
// or MachineDeployment would wait with no machine created:
//
//   - KubernetesVersionSkew: the machine's minor may not be newer than the
//     control plane's, nor more than 3 minors older (kubelet not newer than
//     kube-apiserver, at most 3 minors older).
//   - KubeadmVersionSkew: kubeadm joins a node only of the control plane's
//     major and minor version
//     (https://kubernetes.io/docs/setup/production-environment/tools/kubeadm/create-cluster-kubeadm/#kubeadm-s-skew-against-kubeadm).
//
// Patch versions may differ either way. Every machine this provider makes
// is bootstrapped by kubeadm, so in effect the minors must be equal.
func MachineVersionSkew(controlPlane, machine string) error {
	cp, err := ParseKubernetesVersion(controlPlane)
	if err != nil {
		return fmt.Errorf("control plane version: %w", err)
	}
	m, err := ParseKubernetesVersion(machine)
	if err != nil {
		return fmt.Errorf("machine version: %w", err)
	}
	var problems []string
	switch {
	case m.Major != cp.Major:
		// Cluster API's checks compare minors only; Kubernetes has had one
		// major version, and a node of another would not join.
	case m.Minor > cp.Minor:
		problems = append(problems, fmt.Sprintf("machine version %s is newer than the control plane's %s: kubelet may not be "+
			"newer than kube-apiserver (Kubernetes version skew policy; Cluster API's KubernetesVersionSkew preflight check)",
			machine, controlPlane))
	case cp.Minor-m.Minor > maxKubeletMinorSkew:
		problems = append(problems, fmt.Sprintf("machine version %s is more than %d minor versions older than the control plane's %s: "+
			"kubelet may be at most %d minors older than kube-apiserver (Kubernetes version skew policy; Cluster API's "+
			"KubernetesVersionSkew preflight check)", machine, maxKubeletMinorSkew, controlPlane, maxKubeletMinorSkew))
	}
	if m.Major != cp.Major || m.Minor != cp.Minor {
		problems = append(problems, fmt.Sprintf("machine version %s is not of the control plane's minor version v%d.%d: kubeadm joins "+
			"only nodes of the control plane's major and minor version (Cluster API's KubeadmVersionSkew preflight check holds "+
			"new machines until they match)", machine, cp.Major, cp.Minor))
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(problems, "; "))
}

// ControlPlaneUpgrade checks a change of the control plane's version from
// one Kubernetes version to another:
//
//   - No decrease: Cluster API's Cluster webhook refuses lowering a
//     cluster's version, patch included, pre-releases aside ("version
//     cannot be decreased", sigs.k8s.io/cluster-api
//     core/webhooks/admission/cluster.go validateTopologyVersionUpdate).
//     Cluster API's KubeadmControlPlane webhook alone would let it through
//     and kubeadm's own upgrade policy allows one minor down, but etcd and
//     the objects stored by a newer kube-apiserver do not go back.
//   - At most one minor up: the KubeadmControlPlane webhook refuses a
//     version at or past the minor after next ("cannot update Kubernetes
//     version", controlplane/kubeadm/webhooks/admission/kubeadmcontrolplane.go
//     validateVersion), as kubeadm upgrades one minor at a time
//     (MaximumAllowedMinorVersionUpgradeSkew,
//     cmd/kubeadm/app/phases/upgrade/policy.go).
func ControlPlaneUpgrade(from, to string) error {
	f, err := ParseKubernetesVersion(from)
	if err != nil {
		return fmt.Errorf("current version: %w", err)
	}
	t, err := ParseKubernetesVersion(to)
	if err != nil {
		return fmt.Errorf("new version: %w", err)
	}
	if capiversion.Compare(t, f, capiversion.WithoutPreReleases()) < 0 {
		return fmt.Errorf("%s to %s lowers the version: Cluster API refuses to decrease a cluster's Kubernetes version", from, to)
	}
	ceiling := semver.Version{Major: f.Major, Minor: f.Minor + 2}
	if capiversion.Compare(t, ceiling, capiversion.WithoutPreReleases()) >= 0 {
		next := fmt.Sprintf("v%d.%d", f.Major, f.Minor+1)
		return fmt.Errorf("%s to %s goes past %s: the control plane upgrades one minor version at a time "+
			"(Cluster API's KubeadmControlPlane webhook, kubeadm's upgrade policy); upgrade to %s first", from, to, next, next)
	}
	return nil
}
