package provider

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	addonsv1 "sigs.k8s.io/cluster-api/api/addons/v1beta2"
	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
	"github.com/terraform-capi/terraform-provider-capi/internal/kube"
)

// loadBalancerEndpoint is the API server URL at a lab load balancer: the
// lab gives each one a loopback address, which is also its DNS name.
var loadBalancerEndpoint = regexp.MustCompile(`^https://127\.\d+\.\d+\.\d+:6443$`)

// useLabAWS points the AWS SDK's standard configuration at the lab's
// simulator, as `eval "$(capi-lab env)"` does for a user.
func useLabAWS(t *testing.T) cloud.Clients {
	t.Helper()
	labClient(t)
	endpoint, err := testLab.AWSEndpoint()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", "capi-lab")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "capi-lab")
	t.Setenv("AWS_REGION", "us-east-1")
	clients, err := cloud.NewClients(context.Background(), "us-east-1", cloud.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	return clients
}

func awsClusterConfig(name, labels string) string {
	return fmt.Sprintf(`
resource "capi_cluster" "test" {
  name   = %q
  labels = %s

  aws = {
    region             = "us-east-1"
    availability_zones = ["us-east-1a", "us-east-1b"]
  }

  control_plane = {
    version = "v1.36.0"
    machine = {
      instance_type = "t3.large"
    }
  }

  # Enough for these tests; the lifecycle tests wait for Ready nodes.
  wait_for = "provisioned"
%s
}`, name, labels, cniAddon())
}

// A cluster with AWS infrastructure and a control plane, through the real
// terraform CLI: the network, security groups and load balancer appear in
// the lab's simulator, the first control plane instance runs with CABPK's
// kubeadm-init user data, updates happen in place, import reproduces the
// state, and destroy leaves neither cloud resources nor objects behind.
func TestAccCluster_aws(t *testing.T) {
	clients := useLabAWS(t)
	name := testClusterName()
	key := client.ObjectKey{Namespace: "default", Name: name}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNothingLeft(t, key),
		Steps: []resource.TestStep{
			{
				Config: awsClusterConfig(name, `{ env = "dev" }`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("phase"), knownvalue.StringExact("Provisioned")),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("aws").AtMapKey("region"), knownvalue.StringExact("us-east-1")),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("api_server_endpoint"),
						knownvalue.StringRegexp(loadBalancerEndpoint)),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("control_plane").AtMapKey("replicas"), knownvalue.Int32Exact(1)),
				},
				Check: resource.ComposeTestCheckFunc(
					checkControlPlane(t, key, 1),
					checkSimulatorHas(t, map[string]int{"vpc": 1, "subnet": 4, "internet-gateway": 1, "natgateway": 1, "route-table": 3,
						"security-group": 3, "loadbalancer": 1, "targetgroup": 1, "listener": 1}),
					checkControlPlaneInstance(t, clients, name),
				),
			},
			{
				Config: awsClusterConfig(name, `{ env = "prod" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testResource, plancheck.ResourceActionUpdate),
				}},
				Check: checkCluster(t, key, func(c *clusterv1.Cluster) error {
					if c.Labels["env"] != "prod" || c.Labels[clusterv1.WatchLabel] != "terraform-provider-capi" {
						return fmt.Errorf("labels = %v", c.Labels)
					}
					return nil
				}),
			},
			{
				ResourceName:      testResource,
				ImportState:       true,
				ImportStateId:     "default/" + name,
				ImportStateVerify: true,
				// Conditions are live status: they move while the control plane boots.
				ImportStateVerifyIgnore: []string{"wait_for", "conditions", "phase"},
			},
		},
	})
}

func TestAccCluster_awsInvalidInput(t *testing.T) {
	useLabAWS(t)
	cp := func(kubeadm string) string {
		return `aws = { region = "us-east-1" }` + "\n" + `control_plane = { version = "v1.36.0", machine = { instance_type = "t3.large" }, ` + kubeadm + ` }`
	}
	cases := []struct{ body, want string }{
		{`control_plane = { version = "v1.36.0", machine = { ami = "ami-0123456789abcdef0", instance_type = "t3.large" } }`,
			`Attribute control_plane needs a cloud block (aws or digitalocean)`},
		{`aws = { region = "us-east-1" }` + "\n" + `control_plane = { replicas = 2, version = "v1.36.0", machine = { ami = "ami-0123456789abcdef0", instance_type = "t3.large" } }`,
			`Attribute control_plane.replicas value must be one of: ["1" "3" "5"], got: 2`},
		{`aws = { region = "us-east-1" }` + "\n" + `control_plane = { version = "1.36", machine = { ami = "ami-0123456789abcdef0", instance_type = "t3.large" } }`,
			`Attribute control_plane.version must be a Kubernetes version such as v1.36.0`},
		{`aws = { region = "us-east-1" }` + "\n" + `control_plane = { version = "v1.36.0", machine = { ami = "ubuntu", instance_type = "t3.large" } }`,
			`Attribute control_plane.machine.ami must be an AMI ID such as ami-0123456789abcdef0`},
		{`aws = { region = "mars" }`, `Attribute aws.region must be an AWS region such as us-east-1`},
		{`aws = { region = "us-east-1", vpc_cidr = "10.0.0.0/33" }`, `Attribute aws.vpc_cidr must be a network in CIDR notation`},
		{`aws = { region = "us-east-1" }` + "\n" + `control_plane_endpoint = { host = "api.example.com", port = 6443 }`,
			`These attributes cannot be configured together: [aws,control_plane_endpoint]`},
		{`aws = { region = "us-east-1" }` + "\n" + `wait_for = "forever"`, `Attribute wait_for value must be one of: ["provisioned" "api_server" "available"], got: "forever"`},
		{cp(`kubeadm = { files = [{ path = "etc/motd", content = "x" }] }`), `Attribute control_plane.kubeadm.files[0].path must be an absolute path`},
		{cp(`kubeadm = { files = [{ path = "/etc/motd", content = "x", permissions = "0649" }] }`),
			`Attribute control_plane.kubeadm.files[0].permissions must be octal permissions such as 0644`},
		{cp(`kubeadm = { files = [{ path = "/etc/motd", content = "x" }, { path = "/etc/motd", content = "y" }] }`),
			`Attribute control_plane.kubeadm.files[1].path: "/etc/motd" is also the path of file 0`},
		{cp(`kubeadm = { files = [{ path = "/etc/motd" }] }`), `No attribute specified when one (and only one) of`},
		{cp(`kubeadm = { kubelet_extra_args = { "--max-pods" = "5" } }`), `must be a flag name without leading dashes`},
		{cp(`kubeadm = { node_labels = { "node-role.kubernetes.io/worker" = "" } }`), `kubelet may not set labels in the kubernetes.io or k8s.io namespaces`},
		{cp(`kubeadm = { users = [{ name = "ops", ssh_authorized_keys = ["not a key"] }] }`), `must be a public SSH key`},
		{cp(`kubeadm = {}`), `Attribute control_plane.kubeadm must set at least one of:`},
		{`aws = { region = "us-east-1" }` + "\n" + `addons = { cni = { manifests = "kind: DaemonSet" } }`,
			`document 1 (DaemonSet "") lacks apiVersion, kind or metadata.name`},
		{`aws = { region = "us-east-1" }` + "\n" + `addons = { "aws-cloud-controller-manager" = { manifests = "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}" } }`,
			`value must be none of`},
		{`addons = { cni = { manifests = "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}" } }`, `Attribute addons needs a cloud block (aws or digitalocean)`},
		{`aws = { region = "us-east-1", cloud_controller_manager = true }` + "\n" +
			`control_plane = { version = "v1.36.0", machine = { instance_type = "t3.large" }, kubeadm = { kubelet_extra_args = { "cloud-provider" = "aws" } } }`,
			`may not set cloud-provider while aws.cloud_controller_manager is true`},
		{`aws = { region = "us-east-1" }` + "\n" + `control_plane = { version = "v1.36.0", machine = { instance_type = "t3.large", ami = "ami-0123456789abcdef0", image_lookup = {} } }`,
			`Attribute "control_plane.machine.image_lookup" cannot be specified when "control_plane.machine.ami" is specified`},
		// The rules Kubernetes, Cluster API and AWS apply after the apply
		// has started, at plan.
		{`aws = { region = "us-east-1", availability_zones = ["eu-west-1a"] }` + "\n" + `wait_for = "provisioned"`, `zone eu-west-1a is not in region us-east-1`},
		{`aws = { region = "us-east-1", availability_zones = ["us-east-1a", "us-east-1a"] }` + "\n" + `wait_for = "provisioned"`, `This attribute contains duplicate values of: "us-east-1a"`},
		{`aws = { region = "us-east-1", availability_zones = ["use1-az1"] }` + "\n" + `wait_for = "provisioned"`, `Attribute aws.availability_zones[0] must be an AWS zone name`},
		{`aws = { region = "us-east-1", vpc_id = "vpc-0123456789abcdef0", vpc_cidr = "10.1.0.0/16" }` + "\n" + `wait_for = "provisioned"`,
			`Attribute "aws.vpc_id" cannot be specified when "aws.vpc_cidr" is specified`},
		{`aws = { region = "us-east-1", vpc_id = "vpc-0123456789abcdef0" }` + "\n" + `wait_for = "provisioned"`,
			`Attribute "aws.subnet_ids" must be specified when "aws.vpc_id" is specified`},
		{`aws = { region = "us-east-1", vpc_id = "vpc-0123456789abcdef0", subnet_ids = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"], availability_zones = ["us-east-1a"] }` + "\n" + `wait_for = "provisioned"`,
			`Attribute "aws.availability_zones" cannot be specified when "aws.subnet_ids" is specified`},
		{`aws = { region = "us-east-1", vpc_cidr = "10.0.0.0/26" }` + "\n" + `wait_for = "provisioned"`,
			`Attribute aws.vpc_cidr: 10.0.0.0/26 is too small: each of the 3 zones needs two /30 subnets`},
		{`aws = { region = "us-east-1", vpc_cidr = "10.0.1.0/16" }` + "\n" + `wait_for = "provisioned"`, `10.0.1.0/16 has host bits set: the network is 10.0.0.0/16`},
		{`aws = { region = "us-east-1" }` + "\n" + `wait_for = "provisioned"` + "\n" + `cluster_network = { pod_cidrs = ["10.0.0.0/16"] }`,
			`Attribute cluster_network.pod_cidrs[0] (10.0.0.0/16) overlaps the VPC's network 10.0.0.0/16`},
		{`aws = { region = "us-east-1" }` + "\n" + `control_plane = { version = "v1.36.0-garbage", machine = { instance_type = "t3.large" } }`,
			`v1.36.0-garbage has the pre-release "garbage": Kubernetes releases only -alpha.N, -beta.N and -rc.N`},
		{`aws = { region = "us-east-1" }`, `Attribute wait_for is "available" (the default is "available"), which a cluster without control_plane never reaches`},
		{`aws = { region = "us-east-1" }` + "\n" + `wait_for = "api_server"`, `which a cluster without control_plane never reaches`},
	}
	var steps []resource.TestStep
	for _, c := range cases {
		steps = append(steps, resource.TestStep{
			Config:      "resource \"capi_cluster\" \"test\" {\n name = \"invalid\"\n " + c.body + "\n}",
			PlanOnly:    true,
			ExpectError: wrapped(c.want),
		})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkClusterGone(t, client.ObjectKey{Namespace: "default", Name: "invalid"}),
		Steps:                    steps,
	})
}

// checkSimulatorHas compares the simulator's live resources by kind,
// waiting up to a minute for them: the reconcilers go on after a wait
// target such as provisioned is reached.
func checkSimulatorHas(t *testing.T, want map[string]int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		var have map[string]int
		err := wait.PollUntilContextTimeout(context.Background(), 500*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
			live, err := testLab.AWSResources()
			if err != nil {
				return false, err
			}
			have = map[string]int{}
			for _, r := range live {
				have[r.Kind]++
			}
			for kind, n := range want {
				if have[kind] != n {
					return false, nil
				}
			}
			return true, nil
		})
		if err != nil {
			return fmt.Errorf("simulator has %v, want %v: %w", have, want, err)
		}
		return nil
	}
}

// checkControlPlaneInstance waits for the first control plane instance to
// run and checks that its user data is the boothook that fetches CABPK's
// kubeadm init from Secrets Manager, not the data itself.
func checkControlPlaneInstance(t *testing.T, clients cloud.Clients, cluster string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		var instance ec2types.Instance
		err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
			out, err := clients.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
				{Name: awssdk.String("tag:terraform-capi.io/cluster/default/" + cluster), Values: []string{"owned"}},
				{Name: awssdk.String("instance-state-name"), Values: []string{"running"}},
			}})
			if err != nil || len(out.Reservations) == 0 {
				return false, err
			}
			instance = out.Reservations[0].Instances[0]
			return true, nil
		})
		if err != nil {
			return fmt.Errorf("no running control plane instance: %w", err)
		}
		attr, err := clients.EC2.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: instance.InstanceId, Attribute: ec2types.InstanceAttributeNameUserData})
		if err != nil {
			return err
		}
		data, _ := base64.StdEncoding.DecodeString(awssdk.ToString(attr.UserData.Value))
		if !strings.Contains(string(data), "text/cloud-boothook") || strings.Contains(string(data), "kubeadm init") || strings.Contains(string(data), "PRIVATE KEY") {
			return fmt.Errorf("instance %s's user data is not the boothook alone:\n%.300s", awssdk.ToString(instance.InstanceId), data)
		}
		return nil
	}
}

// checkNothingLeft is the leak check after destroy: no Cluster API or
// infrastructure objects of the cluster, none of its Secrets (the garbage
// collector takes those that its objects own), and no live simulated
// resource.
func checkNothingLeft(t *testing.T, key client.ObjectKey) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		if err := checkClusterGone(t, key)(s); err != nil {
			return err
		}
		ctx := context.Background()
		cl := labClient(t)
		var secrets corev1.SecretList
		err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			err := cl.List(ctx, &secrets, client.InNamespace(key.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: key.Name})
			return err == nil && len(secrets.Items) == 0, err
		})
		if err != nil {
			var names []string
			for _, s := range secrets.Items {
				names = append(names, s.Name)
			}
			return fmt.Errorf("Secrets of the cluster left: %v (%w)", names, err)
		}
		for _, list := range []client.ObjectList{&controlplanev1.KubeadmControlPlaneList{}, &clusterv1.MachineList{},
			&infrav1.AWSClusterList{}, &infrav1.AWSMachineList{}, &infrav1.AWSMachineTemplateList{},
			&clusterv1.MachineDeploymentList{}, &clusterv1.MachineSetList{}, &clusterv1.MachineHealthCheckList{},
			&bootstrapv1.KubeadmConfigTemplateList{}, &bootstrapv1.KubeadmConfigList{},
			&addonsv1.ClusterResourceSetList{}, &corev1.ConfigMapList{}} {
			if err := cl.List(ctx, list, client.InNamespace(key.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: key.Name}); err != nil {
				return err
			}
			if n := len(mustExtract(list)); n != 0 {
				return fmt.Errorf("%d %T left", n, list)
			}
		}
		// Bindings are named after their cluster and carry no cluster label.
		if err := cl.Get(ctx, key, &addonsv1.ClusterResourceSetBinding{}); !kube.IsNotFound(err) {
			return fmt.Errorf("ClusterResourceSetBinding %s left (%v)", key, err)
		}
		live, err := testLab.AWSResources()
		if err != nil {
			return err
		}
		if len(live) != 0 {
			return fmt.Errorf("simulated resources left: %+v", live)
		}
		return nil
	}
}

func checkControlPlane(t *testing.T, key client.ObjectKey, replicas int32) resource.TestCheckFunc {
	return func(*terraform.State) error {
		kcp := &controlplanev1.KubeadmControlPlane{}
		if err := labClient(t).Get(context.Background(), client.ObjectKey{Namespace: key.Namespace, Name: key.Name + "-control-plane"}, kcp); err != nil {
			return err
		}
		if kcp.Spec.Replicas == nil || *kcp.Spec.Replicas != replicas || kcp.Spec.Version != "v1.36.0" {
			return fmt.Errorf("KubeadmControlPlane replicas %v version %s", kcp.Spec.Replicas, kcp.Spec.Version)
		}
		return nil
	}
}

// While another apply holds a cluster's Lease, an apply of that cluster
// waits, and fails at its timeout with a message naming the holder; once
// the Lease is free it goes ahead.
func TestAccCluster_awsWaitsForTheClusterLease(t *testing.T) {
	useLabAWS(t)
	ensureCRDs(t)
	name := testClusterName()
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: kube.LeaseName(name)},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("another-apply"), LeaseDurationSeconds: ptr.To[int32](3600),
			AcquireTime: &metav1.MicroTime{Time: time.Now()}, RenewTime: &metav1.MicroTime{Time: time.Now()}}}
	config := awsClusterConfig(name, `{}`)
	withTimeout := strings.Replace(config, `wait_for = "provisioned"`, "wait_for = \"provisioned\"\n  timeouts {\n    create = \"5s\"\n  }", 1)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNothingLeft(t, client.ObjectKey{Namespace: "default", Name: name}),
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					if err := labClient(t).Create(context.Background(), lease); err != nil {
						t.Fatal(err)
					}
				},
				Config:      withTimeout,
				ExpectError: wrapped("is being applied by another process (another-apply holds Lease default/" + kube.LeaseName(name) + ")"),
			},
			{
				PreConfig: func() {
					if err := labClient(t).Delete(context.Background(), lease); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
			},
		},
	})
}
