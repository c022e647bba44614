package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/digitalocean/godo"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"golang.org/x/oauth2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	doinfrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/labtest"
)

// labDO is the lab's DigitalOcean API, through godo as the reconcilers
// reach it, and its control API.
type labDO struct {
	t   *testing.T
	url string
	api *godo.Client
}

// useLabDO points the provider at the lab's DigitalOcean API, as `eval
// "$(capi-lab env)"` does.
func useLabDO(t *testing.T) labDO {
	t.Helper()
	labClient(t)
	url, err := testLab.DigitalOceanEndpoint()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("DIGITALOCEAN_API_URL", throughPrism(t, url))
	t.Setenv("DIGITALOCEAN_TOKEN", "capi-lab")
	// Spaces is no part of the API description: not through Prism.
	t.Setenv("SPACES_ENDPOINT_URL", strings.TrimSuffix(url, "/"))
	t.Setenv("SPACES_ACCESS_KEY_ID", labtest.SpacesAccessKeyID)
	t.Setenv("SPACES_SECRET_ACCESS_KEY", labtest.SpacesSecretAccessKey)
	api, err := godo.New(oauth2.NewClient(context.Background(), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "capi-lab"})), godo.SetBaseURL(url))
	if err != nil {
		t.Fatal(err)
	}
	return labDO{t: t, url: strings.TrimSuffix(url, "/"), api: api}
}

func (d labDO) control(method, path string, in, out any) {
	d.t.Helper()
	var body bytes.Buffer
	if in != nil {
		if err := json.NewEncoder(&body).Encode(in); err != nil {
			d.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, d.url+path, &body)
	if err != nil {
		d.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		d.t.Fatalf("%s %s: %s", method, path, resp.Status)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			d.t.Fatal(err)
		}
	}
}

// image is the ID of the lab's snapshot with Kubernetes version v, as
// image-builder names its DigitalOcean snapshots.
func (d labDO) image(v string) string {
	var images []struct {
		ID                int    `json:"id"`
		Name              string `json:"name"`
		KubernetesVersion string `json:"kubernetesVersion"`
	}
	d.control(http.MethodGet, "/_lab/images", nil, &images)
	for _, i := range images {
		if i.Name == "cluster-api-ubuntu-2404-"+v {
			return strconv.Itoa(i.ID)
		}
	}
	d.t.Fatalf("no lab image with Kubernetes %s", v)
	return ""
}

type doResource struct {
	Kind, ID, Name, State string
}

func (d labDO) resources() []doResource {
	var out []doResource
	d.control(http.MethodGet, "/_lab/resources", nil, &out)
	return out
}

func (d labDO) droplets() []doResource {
	var out []doResource
	for _, r := range d.resources() {
		if r.Kind == "droplet" {
			out = append(out, r)
		}
	}
	return out
}

func (d labDO) setFaults(faults any) { d.control(http.MethodPut, "/_lab/faults", faults, nil) }

const (
	doCluster = "capi_cluster.do"
	doWorkers = "capi_machine_deployment.workers"
)

func doClusterConfig(d labDO, name, version string, workers int) string {
	image := d.image(version)
	return fmt.Sprintf(`
resource "capi_cluster" "do" {
  name = %[1]q
  digitalocean = {
    region       = "nyc3"
    vpc_ip_range = "10.40.0.0/20"
    # The lab's host (terraform, the provider's reconcilers) reaches the
    # load balancer from 127.0.0.1; the provider admits the droplets.
    api_server_sources = ["127.0.0.1/32"]
  }
  control_plane = {
    replicas = 3
    version  = %[2]q
    machine = {
      size  = "s-2vcpu-4gb"
      image = %[4]q
    }
  }
%[5]s
}

resource "capi_machine_deployment" "workers" {
  cluster  = capi_cluster.do.name
  name     = "%[1]s-workers"
  replicas = %[3]d
  version  = %[2]q
  labels   = { "node-role.kubernetes.io/worker" = "" }
  taints   = [{ key = "dedicated", value = "batch", effect = "NoSchedule" }]
  digitalocean = {
    size       = "s-2vcpu-2gb"
    image      = %[4]q
    monitoring = false
  }
  # The lab's nodes turn unreachable 5 s after their droplet goes; the
  # default 5 minutes would keep the test that deletes one waiting.
  health_check = {
    unhealthy_timeout = "30s"
  }
}`, name, version, workers, image, cniAddon())
}

// The lifecycle of an HA cluster on DigitalOcean, through the real
// terraform CLI against the lab's DigitalOcean API: three control plane
// droplets behind the API server's load balancer and three workers reach
// Ready nodes with digitalocean:// provider IDs; the workers scale 3 -> 5
// while 30% of droplet creates are answered 500 after the droplet was made
// (each machine still gets exactly one droplet), then to 2; a version
// change rolls the control plane one machine at a time, then the workers
// within max_surge and max_unavailable; a droplet deleted behind the
// provider's back shows in the plan and the next apply replaces its
// machine; destroy leaves no droplet, VPC, firewall, load balancer or tag,
// and no Cluster API object.
func TestAccDigitalOcean_haClusterWithWorkers(t *testing.T) {
	do := useLabDO(t)
	name := testClusterName()
	key := client.ObjectKey{Namespace: "default", Name: name}
	monitor := &rolloutMonitor{t: t, key: key}
	var deleted string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNothingLeftOnDigitalOcean(t, do, key),
		Steps: []resource.TestStep{
			{
				PreConfig: endApply,
				Config:    doClusterConfig(do, name, "v1.36.0", 3),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(doWorkers, tfjsonpath.New("ready_replicas"), knownvalue.Int32Exact(3)),
					statecheck.ExpectKnownValue(doCluster, tfjsonpath.New("digitalocean").AtMapKey("region"), knownvalue.StringExact("nyc3")),
					statecheck.ExpectKnownValue(doCluster, tfjsonpath.New("aws"), knownvalue.Null()),
				},
				Check: resource.ComposeTestCheckFunc(checkWorkload(t, key, 3, 3, "v1.36.0"), checkDigitalOceanProviderIDs(t, do, key),
					checkLoadBalancerAdmitsDroplets(do, "cidr:127.0.0.1/32"), checkNoKeyReachableFromDroplets(do)),
			},
			{
				PreConfig: func() {
					endApply()
					do.setFaults([]map[string]any{{"action": "droplets:create", "rate": 0.3, "error": "created-then-server"}})
				},
				Config: doClusterConfig(do, name, "v1.36.0", 5),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(doWorkers, plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(doCluster, plancheck.ResourceActionNoop),
				}},
				Check: resource.ComposeTestCheckFunc(
					checkWorkload(t, key, 3, 5, "v1.36.0"),
					func(*terraform.State) error {
						do.control(http.MethodDelete, "/_lab/faults", nil, nil)
						if n := len(do.droplets()); n != 8 {
							return fmt.Errorf("%d droplets for 8 machines: a create answered 500 made a second droplet", n)
						}
						return nil
					},
				),
			},
			{
				PreConfig: endApply,
				Config:    doClusterConfig(do, name, "v1.36.0", 2),
				Check:     checkWorkload(t, key, 3, 2, "v1.36.0"),
			},
			{
				PreConfig: func() { endApply(); monitor.start() },
				Config:    doClusterConfig(do, name, "v1.36.3", 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(doCluster, plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(doWorkers, plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeTestCheckFunc(checkWorkload(t, key, 3, 2, "v1.36.3"), monitor.check(3, 2)),
			},
			{
				PreConfig: func() {
					endApply()
					deleted = deleteWorkerDroplet(t, do, key)
				},
				Config: doClusterConfig(do, name, "v1.36.3", 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(doWorkers, plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue(doWorkers, tfjsonpath.New("ready_replicas")),
				}},
				Check: resource.ComposeTestCheckFunc(
					checkWorkload(t, key, 3, 2, "v1.36.3"),
					func(*terraform.State) error {
						for _, n := range workloadNodes(t, key) {
							if n.Spec.ProviderID == doinfrav1.ProviderIDPrefix+deleted {
								return fmt.Errorf("node %s of the deleted droplet %s is still there", n.Name, deleted)
							}
						}
						return nil
					},
				),
			},
			{
				PreConfig: endApply,
				Config:    doClusterConfig(do, name, "v1.36.3", 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
			},
			{
				ResourceName:      doCluster,
				ImportState:       true,
				ImportStateId:     "default/" + name,
				ImportStateVerify: true,
				// Defaults the configuration left out read back on import.
				ImportStateVerifyIgnore: []string{"wait_for", "timeouts"},
			},
		},
	})
}

// checkDigitalOceanProviderIDs checks that every machine's provider ID is
// one of the lab's droplets.
func checkDigitalOceanProviderIDs(t *testing.T, do labDO, key client.ObjectKey) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ids := map[string]bool{}
		for _, d := range do.droplets() {
			ids[doinfrav1.ProviderIDPrefix+d.ID] = true
		}
		var machines clusterv1.MachineList
		if err := labClient(t).List(context.Background(), &machines, client.InNamespace(key.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: key.Name}); err != nil {
			return err
		}
		for _, m := range machines.Items {
			if !ids[m.Spec.ProviderID] {
				return fmt.Errorf("machine %s has provider ID %q, no droplet of the lab", m.Name, m.Spec.ProviderID)
			}
		}
		return nil
	}
}

// presignedURL matches the boothook's URL assignments.
var presignedURL = regexp.MustCompile(`(?m)^BOOTSTRAP_DATA(?:_DELETE)?_URL='([^']*)'$`)

// checkNoKeyReachableFromDroplets checks what a process on a droplet can
// get from its user data (the droplet metadata service serves it for the
// droplet's life) once the nodes joined: no private key in it, nothing
// from its presigned URLs; and no bootstrap data left in Spaces.
func checkNoKeyReachableFromDroplets(do labDO) resource.TestCheckFunc {
	return func(*terraform.State) error {
		droplets := do.droplets()
		if len(droplets) == 0 {
			return errors.New("no droplets")
		}
		for _, d := range droplets {
			id, _ := strconv.Atoi(d.ID)
			ud, err := testLab.DropletUserData(id)
			if err != nil {
				return err
			}
			if strings.Contains(string(ud), "PRIVATE KEY") || !strings.Contains(string(ud), "text/cloud-boothook") {
				return fmt.Errorf("user data of droplet %s is not the boothook alone", d.ID)
			}
			urls := presignedURL.FindAllStringSubmatch(string(ud), -1)
			if len(urls) != 2 {
				return fmt.Errorf("user data of droplet %s has %d presigned URLs, want 2", d.ID, len(urls))
			}
			resp, err := http.Get(urls[0][1])
			if err != nil {
				return err
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK || strings.Contains(string(body), "PRIVATE KEY") {
				return fmt.Errorf("droplet %s's bootstrap data URL still answers %s", d.ID, resp.Status)
			}
		}
		for _, r := range do.resources() {
			if r.Kind == "spaces_object" {
				return fmt.Errorf("bootstrap data %s left in Spaces after the nodes joined", r.ID)
			}
		}
		return nil
	}
}

// checkLoadBalancerAdmitsDroplets checks that the firewall of the lab's
// one load balancer allows the sources given and the public address of
// every droplet, and nothing else.
func checkLoadBalancerAdmitsDroplets(do labDO, sources ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		lbs, _, err := do.api.LoadBalancers.List(ctx, &godo.ListOptions{PerPage: 200})
		if err != nil || len(lbs) != 1 {
			return fmt.Errorf("%d load balancers, want 1 (%v)", len(lbs), err)
		}
		droplets, _, err := do.api.Droplets.List(ctx, &godo.ListOptions{PerPage: 200})
		if err != nil {
			return err
		}
		want := slices.Clone(sources)
		for _, d := range droplets {
			ip, err := d.PublicIPv4()
			if err != nil || ip == "" {
				return fmt.Errorf("droplet %d has no public address (%v)", d.ID, err)
			}
			want = append(want, "ip:"+ip)
		}
		var have []string
		if fw := lbs[0].Firewall; fw != nil {
			have = fw.Allow
		}
		slices.Sort(want)
		have = slices.Sorted(slices.Values(have))
		if !slices.Equal(have, want) {
			return fmt.Errorf("load balancer firewall allows %v, want %v", have, want)
		}
		return nil
	}
}

// deleteWorkerDroplet deletes one worker's droplet with the DigitalOcean
// API, behind the provider's back, and waits until the workload cluster
// has noticed: its node unreachable (Ready=Unknown) or gone. It returns
// the droplet ID.
func deleteWorkerDroplet(t *testing.T, do labDO, key client.ObjectKey) string {
	t.Helper()
	var machines clusterv1.MachineList
	if err := labClient(t).List(context.Background(), &machines, client.InNamespace(key.Namespace),
		client.MatchingLabels{clusterv1.MachineDeploymentNameLabel: key.Name + "-workers"}); err != nil || len(machines.Items) == 0 {
		t.Fatalf("no worker machine (%v)", err)
	}
	providerID := machines.Items[0].Spec.ProviderID
	id, err := strconv.Atoi(strings.TrimPrefix(providerID, doinfrav1.ProviderIDPrefix))
	if err != nil {
		t.Fatalf("provider ID %q: %v", providerID, err)
	}
	ctx := context.Background()
	if _, err := do.api.Droplets.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := waitNodeUnreachable(ctx, t, key, providerID, nil); err != nil {
		t.Fatalf("node of deleted droplet %d neither unreachable nor gone: %v", id, err)
	}
	return strconv.Itoa(id)
}

// checkNothingLeftOnDigitalOcean checks what checkNothingLeft does, and
// that the lab's DigitalOcean has no droplet, VPC, firewall, load balancer
// or tag left.
func checkNothingLeftOnDigitalOcean(t *testing.T, do labDO, key client.ObjectKey) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		if err := checkNothingLeft(t, key)(s); err != nil {
			return err
		}
		for _, list := range []client.ObjectList{&doinfrav1.DOClusterList{}, &doinfrav1.DOMachineList{}, &doinfrav1.DOMachineTemplateList{}} {
			if err := labClient(t).List(context.Background(), list, client.InNamespace(key.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: key.Name}); err != nil {
				return err
			}
			if n := len(mustExtract(list)); n != 0 {
				return fmt.Errorf("%d %T left", n, list)
			}
		}
		if live := do.resources(); len(live) != 0 {
			return fmt.Errorf("DigitalOcean resources left: %+v", live)
		}
		return nil
	}
}

// Bad DigitalOcean input fails at plan time with a message naming the
// attribute and the rule, and nothing reaches the API server: a cluster on
// two clouds, DigitalOcean slugs and ranges, control plane settings of the
// wrong cloud, and machines on another cloud than their cluster's.
func TestAccDigitalOcean_invalidInput(t *testing.T) {
	useLabDO(t)
	cluster := func(block, machine string) string {
		return "resource \"capi_cluster\" \"c\" {\n name = \"do-invalid\"\n " + block +
			"\n control_plane = {\n version = \"v1.36.0\"\n machine = { " + machine + " }\n }\n}\n"
	}
	do := `digitalocean = { region = "nyc3" }`
	droplet := `size = "s-2vcpu-4gb", image = "184131703"`
	deployment := func(block string) string {
		return "resource \"capi_machine_deployment\" \"md\" {\n name = \"do-invalid-md\"\n cluster = capi_cluster.c.name\n replicas = 1\n" +
			" version = \"v1.36.0\"\n " + block + "\n}\n"
	}
	var steps []resource.TestStep
	for _, c := range []struct{ config, want string }{
		{cluster(do+"\n aws = { region = \"us-east-1\" }", droplet), `These attributes cannot be configured together: [aws,digitalocean]`},
		{cluster(`digitalocean = { region = "NYC3" }`, droplet), `Attribute digitalocean.region must be a DigitalOcean region slug such as nyc3`},
		{cluster(`digitalocean = { region = "nyc3", vpc_ip_range = "8.8.0.0/16" }`, droplet),
			`it is not inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16`},
		{cluster(`digitalocean = { region = "nyc3", vpc_ip_range = "10.0.0.0/12" }`, droplet), `its prefix length is /12`},
		{cluster(`digitalocean = { region = "nyc3", vpc_uuid = "not-a-uuid" }`, droplet), `Attribute digitalocean.vpc_uuid must be a VPC UUID`},
		{cluster(`digitalocean = { region = "nyc3", vpc_ip_range = "10.244.0.0/20" }`, droplet),
			`Attribute digitalocean.vpc_ip_range (10.244.0.0/20) overlaps 10.244.0.0/16, which DigitalOcean reserves`},
		{cluster(`digitalocean = { region = "nyc3", vpc_ip_range = "10.96.0.0/16" }`, droplet),
			`Services get kubeadm's default network 10.96.0.0/12, which overlaps the VPC's network 10.96.0.0/16`},
		{cluster(`digitalocean = { region = "nyc3", vpc_ip_range = "172.20.0.0/16" }`+"\n"+`cluster_network = { pod_cidrs = ["172.20.0.0/14"] }`, droplet),
			`Attribute cluster_network.pod_cidrs[0] (172.20.0.0/14) overlaps the VPC's network 172.20.0.0/16`},
		{cluster(do, droplet) + deployment(`availability_zone = "us-east-1a"`+"\n"+`digitalocean = { size = "s-2vcpu-2gb", image = "184131703" }`),
			`Attribute availability_zone is set, but Cluster default/do-invalid is on DigitalOcean, which has no zones`},
		{cluster(`digitalocean = { region = "nyc3", api_server_sources = ["0.0.0.0/33"] }`, droplet),
			`Attribute digitalocean.api_server_sources[0] must be a network in CIDR notation`},
		{cluster(do, droplet+`, instance_type = "t3.large"`),
			`Attribute control_plane.machine.instance_type is not a setting of DigitalOcean machines (the cluster's digitalocean block)`},
		{cluster(do, `image = "184131703"`), `Attribute control_plane.machine.size is required for DigitalOcean machines`},
		{cluster(`aws = { region = "us-east-1" }`, `instance_type = "t3.large", size = "s-2vcpu-4gb"`),
			`Attribute control_plane.machine.size is not a setting of AWS machines`},
		{cluster(`aws = { region = "us-east-1" }`, `ami = "ami-0123456789abcdef0"`), `Attribute control_plane.machine.instance_type is required for AWS machines`},
		{cluster(do, droplet) + deployment(`aws = { instance_type = "t3.medium" }`),
			`Attribute aws sets AWS machines, but Cluster default/do-invalid is on DigitalOcean (its digitalocean block)`},
		{cluster(do, droplet) + deployment(``), `Exactly one of these attributes must be configured: [aws,digitalocean]`},
		{cluster(do, droplet) + deployment(`digitalocean = { size = "S 2", image = "184131703" }`),
			`Attribute digitalocean.size must be a droplet size slug such as s-2vcpu-4gb`},
		{cluster(do, droplet) + deployment(`digitalocean = { size = "s-2vcpu-2gb", image = "184131703", tags = ["bad tag"] }`),
			`must be a DigitalOcean tag: letters, digits, _, - and :`},
		{cluster(`digitalocean = { region = "nyc1" }`, droplet),
			`Region nyc1 has no Spaces, where the machines' bootstrap data is kept while their droplets boot: set digitalocean.spaces_region`},
		{cluster(`digitalocean = { region = "nyc1", spaces_region = "nyc2" }`, droplet), `Attribute digitalocean.spaces_region value must be one of`},
	} {
		steps = append(steps, resource.TestStep{Config: c.config, PlanOnly: true, ExpectError: wrapped(c.want)})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkClusterGone(t, client.ObjectKey{Namespace: "default", Name: "do-invalid"}),
		Steps:                    steps,
	})
}

// Moving a cluster to another cloud replaces it: the plan says so, the
// apply deletes the AWS cluster (and its network) before it makes the
// DigitalOcean one, and destroy leaves nothing on either cloud.
func TestAccCluster_switchingCloudReplacesIt(t *testing.T) {
	useLabAWS(t)
	do := useLabDO(t)
	name := testClusterName()
	key := client.ObjectKey{Namespace: "default", Name: name}
	config := func(block string) string {
		return fmt.Sprintf("resource \"capi_cluster\" \"moving\" {\n  name     = %q\n  wait_for = \"provisioned\"\n  %s\n}\n", name, block)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNothingLeftOnDigitalOcean(t, do, key),
		Steps: []resource.TestStep{
			{
				PreConfig: endApply,
				Config:    config(`aws = { region = "us-east-1", availability_zones = ["us-east-1a"] }`),
			},
			{
				PreConfig: endApply,
				Config:    config(`digitalocean = { region = "nyc3" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("capi_cluster.moving", plancheck.ResourceActionDestroyBeforeCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("capi_cluster.moving", tfjsonpath.New("aws"), knownvalue.Null()),
				},
				Check: func(*terraform.State) error {
					live, err := testLab.AWSResources()
					if err != nil {
						return err
					}
					if len(live) != 0 {
						return fmt.Errorf("the AWS cluster's resources are left after the move: %+v", live)
					}
					return nil
				},
			},
		},
	})
}
