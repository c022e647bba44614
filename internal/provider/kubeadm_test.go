package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
)

func kubeadmClusterConfig(name, release string) string {
	return fmt.Sprintf(`
resource "capi_cluster" "test" {
  name = %[1]q
  aws = {
    region             = "us-east-1"
    availability_zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
  }
  control_plane = {
    replicas = 3
    version  = "v1.36.0"
    machine  = { instance_type = "t3.large" }
    kubeadm = {
      files = [{
        path        = "/etc/capi-acc/release"
        content     = "capi-acc-release-%[2]s"
        permissions = "0600"
      }]
      pre_kubeadm_commands  = ["echo capi-acc-pre-%[2]s"]
      kubelet_extra_args    = { "max-pods" = "42" }
      api_server_extra_args = { "audit-log-maxage" = "7" }
    }
  }
%[3]s
}`, name, release, cniAddon())
}

// kubeadm settings reach every control plane machine's cloud-init, and a
// change rolls the control plane in place, one machine at a time.
func TestAccCluster_kubeadmSettingsRollTheControlPlane(t *testing.T) {
	useLabAWS(t)
	name := testClusterName()
	key := client.ObjectKey{Namespace: "default", Name: name}
	monitor := &rolloutMonitor{t: t, key: key}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNothingLeft(t, key),
		Steps: []resource.TestStep{
			{
				PreConfig: endApply,
				Config:    kubeadmClusterConfig(name, "v1"),
				Check:     checkControlPlaneBootstrap(t, key, 3, "v1"),
			},
			{
				PreConfig: func() { endApply(); monitor.start() },
				Config:    kubeadmClusterConfig(name, "v2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testResource, plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeTestCheckFunc(
					checkControlPlaneBootstrap(t, key, 3, "v2"),
					monitor.check(3, 0),
				),
			},
		},
	})
}

// checkControlPlaneBootstrap checks the cloud-config of each control plane
// machine (its bootstrap data Secret, what the instance boots with): the
// file, the command and the kubelet flag of the release, and kubelet's
// provider ID beside them.
func checkControlPlaneBootstrap(t *testing.T, key client.ObjectKey, replicas int, release string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		cl := labClient(t)
		var machines clusterv1.MachineList
		if err := cl.List(ctx, &machines, client.InNamespace(key.Namespace),
			client.MatchingLabels{clusterv1.ClusterNameLabel: key.Name, clusterv1.MachineControlPlaneLabel: ""}); err != nil {
			return err
		}
		if len(machines.Items) != replicas {
			return fmt.Errorf("%d control plane machines, want %d", len(machines.Items), replicas)
		}
		for _, m := range machines.Items {
			secret := &corev1.Secret{}
			if err := cl.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: ptr.Deref(m.Spec.Bootstrap.DataSecretName, "")}, secret); err != nil {
				return fmt.Errorf("bootstrap data of %s: %w", m.Name, err)
			}
			data := string(secret.Data["value"])
			for _, want := range []string{"/etc/capi-acc/release", "capi-acc-release-" + release, "'0600'", "echo capi-acc-pre-" + release,
				"max-pods", "provider-id"} {
				if !strings.Contains(data, want) {
					return fmt.Errorf("cloud-config of %s lacks %q:\n%.2000s", m.Name, want, data)
				}
			}
		}
		// The API server's flags are in the ClusterConfiguration, which only
		// kubeadm init carries and uploads; joining machines read it there.
		cm, err := workloadClientset(t, key).CoreV1().ConfigMaps("kube-system").Get(ctx, "kubeadm-config", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !strings.Contains(cm.Data["ClusterConfiguration"], "audit-log-maxage") {
			return fmt.Errorf("the workload cluster's kubeadm-config lacks the API server flag:\n%s", cm.Data["ClusterConfiguration"])
		}
		return nil
	}
}
