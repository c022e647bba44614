package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
)

func ccmClusterConfig(name string) string {
	return fmt.Sprintf(`
resource "capi_cluster" "test" {
  name = %[1]q
  aws = {
    region                   = "us-east-1"
    availability_zones       = ["us-east-1a"]
    cloud_controller_manager = true
  }
  control_plane = {
    version = "v1.36.0"
    machine = {
      instance_type        = "t3.large"
      iam_instance_profile = "control-plane.cluster-api-provider-aws.sigs.k8s.io"
      root_volume_size     = 40
    }
  }
%[2]s
}

resource "capi_machine_deployment" "workers" {
  cluster  = capi_cluster.test.name
  name     = "%[1]s-workers"
  replicas = 1
  version  = "v1.36.0"
  aws      = { instance_type = "t3.medium" }
  kubeadm = {
    kubelet_extra_args = { "cloud-provider" = "external" }
  }
}`, name, cniAddon())
}

// With aws.cloud_controller_manager, the AWS cloud controller manager
// comes as the provider's add-on and initialises the nodes of the tagged
// instances (provider ID, zone, no uninitialized taint); the instances,
// subnets and groups carry the tags it needs, and the root volume size
// lands on the image's own root device.
func TestAccCluster_cloudControllerManager(t *testing.T) {
	clients := useLabAWS(t)
	name := testClusterName()
	key := client.ObjectKey{Namespace: "default", Name: name}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNothingLeft(t, key),
		Steps: []resource.TestStep{
			{
				PreConfig: endApply,
				Config:    ccmClusterConfig(name),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("aws").AtMapKey("cloud_controller_manager"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("addons").AtMapKey("cni"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("control_plane").AtMapKey("kubeadm"), knownvalue.Null()),
				},
				Check: resource.ComposeTestCheckFunc(
					checkAddonApplied(t, key, "aws-cloud-controller-manager"),
					checkCloudInitializedNodes(t, key, 2),
					checkCloudProviderTags(t, clients, name),
					checkRootVolume(t, clients, name, "/dev/sda1", 40),
				),
			},
			{
				ResourceName:            testResource,
				ImportState:             true,
				ImportStateId:           "default/" + name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"wait_for", "conditions", "phase"},
			},
		},
	})
}

// checkCloudInitializedNodes checks that every node of the cluster was
// initialised by the cloud controller manager.
func checkCloudInitializedNodes(t *testing.T, key client.ObjectKey, want int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		nodes := workloadNodes(t, key)
		if len(nodes) != want {
			return fmt.Errorf("%d nodes, want %d", len(nodes), want)
		}
		for _, n := range nodes {
			for _, taint := range n.Spec.Taints {
				if taint.Key == "node.cloudprovider.kubernetes.io/uninitialized" {
					return fmt.Errorf("node %s still has the uninitialized taint", n.Name)
				}
			}
			if !strings.HasPrefix(n.Spec.ProviderID, "aws:///us-east-1a/i-") || n.Labels[corev1.LabelTopologyZone] != "us-east-1a" ||
				n.Labels[corev1.LabelTopologyRegion] != "us-east-1" || !nodeReady(n) {
				return fmt.Errorf("node %s: provider ID %q, labels %v, Ready %v", n.Name, n.Spec.ProviderID, n.Labels, nodeReady(n))
			}
		}
		return nil
	}
}

// checkCloudProviderTags checks the tags Kubernetes' AWS cloud provider
// reads: the cluster tag on instances, subnets and security groups, and the
// load balancer role tags on subnets.
func checkCloudProviderTags(t *testing.T, clients cloud.Clients, cluster string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		tag := "kubernetes.io/cluster/" + cluster
		byTag := []ec2types.Filter{{Name: awssdk.String("tag:" + tag), Values: []string{"owned"}}}
		instances, err := clients.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: append(byTag,
			ec2types.Filter{Name: awssdk.String("instance-state-name"), Values: []string{"running"}})})
		if err != nil {
			return err
		}
		n := 0
		for _, r := range instances.Reservations {
			n += len(r.Instances)
		}
		if n != 2 {
			return fmt.Errorf("%d running instances tagged %s, want 2", n, tag)
		}
		subnets, err := clients.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: byTag})
		if err != nil {
			return err
		}
		roles := map[string]int{}
		for _, s := range subnets.Subnets {
			for _, tg := range s.Tags {
				if k := awssdk.ToString(tg.Key); strings.HasPrefix(k, "kubernetes.io/role/") {
					roles[k]++
				}
			}
		}
		if len(subnets.Subnets) != 2 || roles["kubernetes.io/role/elb"] != 1 || roles["kubernetes.io/role/internal-elb"] != 1 {
			return fmt.Errorf("%d subnets tagged %s, role tags %v", len(subnets.Subnets), tag, roles)
		}
		groups, err := clients.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: byTag})
		if err != nil {
			return err
		}
		if len(groups.SecurityGroups) == 0 {
			return fmt.Errorf("no security group tagged %s", tag)
		}
		return nil
	}
}

// checkRootVolume checks that the control plane instance's root device is
// the image's and has the configured size.
func checkRootVolume(t *testing.T, clients cloud.Clients, cluster, device string, sizeGiB int32) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		out, err := clients.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
			{Name: awssdk.String("tag:terraform-capi.io/role"), Values: []string{"control-plane"}},
			{Name: awssdk.String("tag:kubernetes.io/cluster/" + cluster), Values: []string{"owned"}},
			{Name: awssdk.String("instance-state-name"), Values: []string{"running"}},
		}})
		if err != nil || len(out.Reservations) == 0 {
			return fmt.Errorf("no control plane instance: %v", err)
		}
		i := out.Reservations[0].Instances[0]
		if awssdk.ToString(i.RootDeviceName) != device {
			return fmt.Errorf("root device %q, want the image's %q", awssdk.ToString(i.RootDeviceName), device)
		}
		for _, m := range i.BlockDeviceMappings {
			if awssdk.ToString(m.DeviceName) != device || m.Ebs == nil {
				continue
			}
			vols, err := clients.EC2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{awssdk.ToString(m.Ebs.VolumeId)}})
			if err != nil {
				return err
			}
			if len(vols.Volumes) != 1 || awssdk.ToInt32(vols.Volumes[0].Size) != sizeGiB {
				return fmt.Errorf("root volume %+v, want %d GiB", vols.Volumes, sizeGiB)
			}
			if len(i.BlockDeviceMappings) != 1 {
				return fmt.Errorf("%d block devices, want the root alone", len(i.BlockDeviceMappings))
			}
			return nil
		}
		return fmt.Errorf("no volume mapped at %s: %+v", device, i.BlockDeviceMappings)
	}
}
