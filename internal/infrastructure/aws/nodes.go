package aws

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"strings"
	"text/template"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/terraform-capi/terraform-provider-capi/internal/identity"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure"
)

// Node identity on AWS, as Cluster API Provider AWS's cluster templates set
// it. Cluster API matches a Machine to its Node by spec.providerID only, so
// kubelet must report the instance's provider ID itself when no cloud
// controller manager runs. cloud-init renders the jinja variables from the
// instance metadata (CABPK marks its cloud-config `## template: jinja`).
const (
	nodeName   = "{{ ds.meta_data.local_hostname }}"
	providerID = "aws:///{{ ds.meta_data.placement.availability_zone }}/{{ ds.meta_data.instance_id }}"
)

// CCMAddon is the name of the add-on that runs the AWS cloud controller
// manager; it is the provider's, not the user's.
const CCMAddon = "aws-cloud-controller-manager"

// CCMLabel on an AWSCluster says its nodes are initialised by the AWS
// cloud controller manager (kubelet's cloud-provider external).
const CCMLabel = identity.Prefix + "cloud-controller-manager"

// externalCloudProvider is the value of kubelet's and the controller
// manager's cloud-provider flag with a cloud controller manager.
const externalCloudProvider = "external"

const cloudProviderArg = "cloud-provider"

//go:embed manifests/aws-cloud-controller-manager.yaml
var ccmManifest string

var ccmTemplate = template.Must(template.New("ccm").Parse(ccmManifest))

// nodeRegistration is the kubeadm node registration of an EC2 instance:
// named after its private DNS name, with kubelet's provider-id set. taints
// nil keeps kubeadm's default (the control plane taint on control plane
// nodes, none on workers).
func nodeRegistration(taints *[]corev1.Taint) bootstrapv1.NodeRegistrationOptions {
	return bootstrapv1.NodeRegistrationOptions{
		Name:             nodeName,
		KubeletExtraArgs: []bootstrapv1.Arg{{Name: "provider-id", Value: ptr.To(providerID)}},
		Taints:           taints,
	}
}

// ccmNodeRegistration is a control plane node's registration with a cloud
// controller manager, as Cluster API Provider AWS's templates have it:
// kubelet leaves the provider ID and zone to the CCM and registers the
// node tainted uninitialized until the CCM has seen its instance.
func ccmNodeRegistration() bootstrapv1.NodeRegistrationOptions {
	return bootstrapv1.NodeRegistrationOptions{
		Name:             nodeName,
		KubeletExtraArgs: []bootstrapv1.Arg{{Name: cloudProviderArg, Value: ptr.To(externalCloudProvider)}},
	}
}

// ccmManifests renders the cloud controller manager for a Kubernetes
// version: cloud-provider-aws releases one minor per Kubernetes minor.
func ccmManifests(kubernetesVersion string) (string, error) {
	parts := strings.SplitN(strings.TrimPrefix(kubernetesVersion, "v"), ".", 3)
	if len(parts) < 2 {
		return "", fmt.Errorf("cannot tell the Kubernetes minor of %q", kubernetesVersion)
	}
	var out bytes.Buffer
	err := ccmTemplate.Execute(&out, struct{ Version string }{"v" + parts[0] + "." + parts[1] + ".0"})
	return out.String(), err
}

func usesCCM(c client.Object) bool {
	return c != nil && c.GetLabels()[CCMLabel] == externalCloudProvider
}

// Nodes are kubelet's provider ID on every node or, with the cloud
// controller manager, the CCM's settings on the control plane and the CCM
// itself as an add-on, re-applied when the control plane's version
// changes. Workers keep kubelet's provider ID either way.
func (Infrastructure) Nodes(_ context.Context, cluster client.Object, kubernetesVersion string) (infrastructure.Nodes, error) {
	n := infrastructure.Nodes{Worker: nodeRegistration, ControlPlane: nodeRegistration(nil)}
	if !usesCCM(cluster) {
		return n, nil
	}
	n.ControlPlane = ccmNodeRegistration()
	n.ControllerManagerArgs = []bootstrapv1.Arg{{Name: cloudProviderArg, Value: ptr.To(externalCloudProvider)}}
	if kubernetesVersion == "" {
		return n, nil
	}
	manifests, err := ccmManifests(kubernetesVersion)
	n.Addons = map[string]string{CCMAddon: manifests}
	return n, err
}

// ReservedAddons is the cloud controller manager's add-on.
func (Infrastructure) ReservedAddons() []string { return []string{CCMAddon} }
