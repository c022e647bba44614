package workload

import (
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/util/version"
)

// errNoKubeadm is cloud-init's runcmd on an image without Kubernetes: the
// shell finds no kubeadm, and the machine never joins.
var errNoKubeadm = errors.New("runcmd: kubeadm: command not found")

// kubeadmVersionChecks are the checks kubeadm (of the image's version,
// like its kubelet) runs against the cluster's Kubernetes version before
// it changes anything. They return kubeadm's warnings, and its error if
// it refuses:
//
//   - reading any cluster configuration, kubeadm refuses a control plane
//     older than its own minor minus one;
//   - on a control plane machine (init, or join --control-plane), its
//     KubeletVersion preflight check refuses a kubelet newer than the
//     control plane, and its KubernetesVersion check warns of a control
//     plane newer than kubeadm.
//
// A worker may run an older kubelet (the version skew policy allows it)
// or one minor newer, as kubeadm join checks no more for a worker.
func kubeadmVersionChecks(clusterVersion, imageVersion string, controlPlane bool) ([]string, error) {
	image, err := version.ParseSemantic(imageVersion)
	if err != nil {
		return nil, fmt.Errorf("couldn't get kubelet version: %w", err)
	}
	cluster, err := version.ParseSemantic(clusterVersion)
	if err != nil {
		return nil, fmt.Errorf("couldn't parse Kubernetes version %q: %w", clusterVersion, err)
	}
	if image.Minor() > 0 {
		oldest := version.MajorMinor(image.Major(), image.Minor()-1).WithPatch(0)
		if cluster.LessThan(oldest) {
			return nil, fmt.Errorf("this version of kubeadm only supports deploying clusters with the control plane version >= %s. Current version: %s",
				oldest, clusterVersion)
		}
	}
	if !controlPlane {
		return nil, nil
	}
	var warnings []string
	if cluster.Major() > image.Major() || cluster.Major() == image.Major() && cluster.Minor() > image.Minor() {
		warnings = append(warnings, fmt.Sprintf("[WARNING KubernetesVersion]: Kubernetes version is greater than kubeadm version. "+
			"Please consider to upgrade kubeadm. Kubernetes version: %s. Kubeadm version: %d.%d.x", cluster, image.Major(), image.Minor()))
	}
	if image.Major() > cluster.Major() || image.Minor() > cluster.Minor() {
		return warnings, fmt.Errorf("[preflight] Some fatal errors occurred:\n\t[ERROR KubeletVersion]: the kubelet version is higher than the control plane version. "+
			"This is not a supported version skew and may lead to a malfunctional cluster. Kubelet version: %q Control plane version: %q", image, cluster)
	}
	return warnings, nil
}
