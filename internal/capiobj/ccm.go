package capiobj

import (
	"bytes"
	_ "embed"
	"fmt"
	"strings"
	"text/template"

	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/utils/ptr"

	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
)

// CCMAddon is the name of the add-on that runs the AWS cloud controller
// manager; it is the provider's, not the user's.
const CCMAddon = "aws-cloud-controller-manager"

// CCMLabel on an AWSCluster says its nodes are initialised by the AWS
// cloud controller manager (kubelet's cloud-provider external).
const CCMLabel = "terraform-capi.io/cloud-controller-manager"

// externalCloudProvider is the value of kubelet's and the controller
// manager's cloud-provider flag with a cloud controller manager.
const externalCloudProvider = "external"

const cloudProviderArg = "cloud-provider"

//go:embed manifests/aws-cloud-controller-manager.yaml
var ccmManifest string

var ccmTemplate = template.Must(template.New("ccm").Parse(ccmManifest))

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

// ccmAddon is the cloud controller manager as an add-on, re-applied when
// the control plane's version changes.
func ccmAddon(kubernetesVersion string) (AddonModel, error) {
	manifests, err := ccmManifests(kubernetesVersion)
	return AddonModel{Manifests: types.StringValue(manifests), Strategy: types.StringValue(AddonReconcile)}, err
}

// ccmNodeRegistration is a control plane node's registration with a cloud
// controller manager, as Cluster API Provider AWS's templates have it:
// kubelet leaves the provider ID and zone to the CCM and registers the
// node tainted uninitialized until the CCM has seen its instance.
func ccmNodeRegistration() bootstrapv1.NodeRegistrationOptions {
	return bootstrapv1.NodeRegistrationOptions{
		Name:             awsNodeName,
		KubeletExtraArgs: []bootstrapv1.Arg{{Name: cloudProviderArg, Value: ptr.To(externalCloudProvider)}},
	}
}
