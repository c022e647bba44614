package digitalocean

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/digitalocean/godo"
	"github.com/go-logr/logr/testr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/terraform-capi/terraform-provider-capi/internal/crds"
	"github.com/terraform-capi/terraform-provider-capi/internal/engine"
	"github.com/terraform-capi/terraform-provider-capi/internal/engine/enginetest"
	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/labtest"
)

var (
	testLab *labtest.Lab
	// doEndpoint is the lab's DigitalOcean simulator.
	doEndpoint string
	// labErr is why the simulator could not be found or set up.
	labErr error
)

// testTiming makes the simulator's droplets boot in a second and its load
// balancers get their IP and turn active within two, and health checks
// take a twentieth of real time.
var testTiming = map[string]any{"bootDelay": "1s", "loadBalancerIPDelay": "1s", "loadBalancerDelay": "2s", "healthCheckTimeScale": 0.05}

func TestMain(m *testing.M) {
	os.Exit(labtest.Main(m, func(l *labtest.Lab) {
		testLab = l
		if doEndpoint, labErr = l.DigitalOceanEndpoint(); labErr == nil {
			labErr = doControl(http.MethodPut, "/_lab/timing", testTiming, nil)
		}
	}))
}

// testRegion is a region of the simulator's catalog.
const testRegion = "nyc3"

var testLabels = map[string]string{clusterv1.WatchLabel: engine.WatchFilterValue}

type env struct {
	c      client.Client
	godo   *godo.Client
	engine *engine.Engine
}

// stop stops the engine, as a provider killed mid-apply stops.
func (e env) stop() { e.engine.Stop() }

// startEngine runs the engine with the DigitalOcean provider against the
// lab's management plane and DigitalOcean simulator.
func startEngine(t *testing.T) env {
	t.Helper()
	if testLab == nil {
		t.Skip("needs the lab: TF_ACC=1 (make testacc)")
	}
	if labErr != nil {
		t.Fatal(labErr)
	}
	endpoint := doEndpoint
	ctx := context.Background()
	cfg, err := testLab.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	crdFiles, err := fs.Sub(CRDs, "crds")
	if err != nil {
		t.Fatal(err)
	}
	if err := crds.Install(ctx, cfg, "digitalocean-test", crdFiles); err != nil {
		t.Fatal(err)
	}
	provider := Provider{Settings: Settings{Token: "capi-lab", APIURL: endpoint,
		SpacesEndpoint: strings.TrimSuffix(endpoint, "/"), SpacesAccessKeyID: labtest.SpacesAccessKeyID, SpacesSecretAccessKey: labtest.SpacesSecretAccessKey}}
	e, err := engine.Start(ctx, engine.Options{Config: cfg, Providers: []engine.Provider{provider}, Logger: testr.NewWithOptions(t, testr.Options{Verbosity: 0})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop() })
	scheme, err := engine.Scheme(provider)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	// The tests' own look at the cloud goes through godo too.
	g, err := godo.New(http.DefaultClient, godo.SetBaseURL(endpoint), godo.SetRequestHeaders(map[string]string{"Authorization": "Bearer capi-lab"}))
	if err != nil {
		t.Fatal(err)
	}
	return env{c: c, godo: g, engine: e}
}

// create admits and creates objects as the provider does.
func (e env) create(t *testing.T, objects ...client.Object) {
	t.Helper()
	enginetest.Create(t, e.c, objects...)
}

// testCluster returns a DOCluster and its Cluster named name (without a
// control plane; add one with withControlPlane).
func testCluster(name string) (*infrav1.DOCluster, *clusterv1.Cluster) {
	doCluster := &infrav1.DOCluster{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: testLabels}}
	doCluster.Spec.Region = testRegion
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: testLabels}}
	cluster.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "DOCluster", Name: name}
	return doCluster, cluster
}

// withControlPlane gives cluster a kubeadm control plane of one machine
// on image, and returns its objects.
func withControlPlane(cluster *clusterv1.Cluster, image string) (*infrav1.DOMachineTemplate, *controlplanev1.KubeadmControlPlane) {
	template := &infrav1.DOMachineTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: cluster.Name + "-cp", Labels: testLabels}}
	template.Spec.Template.Spec = infrav1.DOMachineSpec{Size: "s-2vcpu-4gb", Image: image}
	kcp := &controlplanev1.KubeadmControlPlane{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: cluster.Name + "-cp", Labels: testLabels}}
	kcp.Spec.Replicas = ptr.To[int32](1)
	kcp.Spec.Version = "v1.36.0"
	kcp.Spec.MachineTemplate.ObjectMeta.Labels = testLabels
	registration := bootstrapv1.NodeRegistrationOptions{KubeletExtraArgs: []bootstrapv1.Arg{{Name: "provider-id", Value: ptr.To(KubeletProviderID)}}}
	kcp.Spec.KubeadmConfigSpec.InitConfiguration.NodeRegistration = registration
	kcp.Spec.KubeadmConfigSpec.JoinConfiguration.NodeRegistration = registration
	kcp.Spec.MachineTemplate.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "DOMachineTemplate", Name: template.Name}
	cluster.Spec.ControlPlaneRef = clusterv1.ContractVersionedObjectReference{APIGroup: controlplanev1.GroupVersion.Group, Kind: "KubeadmControlPlane", Name: kcp.Name}
	return template, kcp
}

// standaloneMachine returns a Machine of cluster with user-supplied
// bootstrap data, its DOMachine and the data's Secret.
func standaloneMachine(cluster *clusterv1.Cluster, name string, spec infrav1.DOMachineSpec) (*clusterv1.Machine, *infrav1.DOMachine, *corev1.Secret) {
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name + "-bootstrap", Labels: testLabels},
		Data: map[string][]byte{"value": []byte("#!/bin/sh\necho user-supplied bootstrap\n"), "format": []byte("cloud-config")}}
	doMachine := &infrav1.DOMachine{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: testLabels}, Spec: spec}
	machine := &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: testLabels}}
	machine.Spec.ClusterName = cluster.Name
	machine.Spec.Version = "v1.36.0"
	machine.Spec.Bootstrap.DataSecretName = ptr.To(secret.Name)
	machine.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "DOMachine", Name: name}
	return machine, doMachine, secret
}

// deleteCluster deletes cluster and waits until it is gone.
func (e env) deleteCluster(t *testing.T, cluster *clusterv1.Cluster) {
	t.Helper()
	ctx := context.Background()
	if err := e.c.Delete(ctx, cluster); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	eventually(t, "Cluster "+cluster.Name+" deleted", 90*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(cluster), &clusterv1.Cluster{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
}

func eventually(t *testing.T, what string, timeout time.Duration, cond func() (bool, error)) {
	t.Helper()
	start := time.Now()
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, timeout, true, func(context.Context) (bool, error) { return cond() })
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	t.Logf("%s after %s", what, time.Since(start).Round(100*time.Millisecond))
}

// machinesProvisioned waits until n Machines of cluster are provisioned
// (or Running, once the lab's kubeadm has joined their nodes).
func (e env) machinesProvisioned(t *testing.T, cluster string, n int, timeout time.Duration) []clusterv1.Machine {
	t.Helper()
	var machines clusterv1.MachineList
	eventually(t, fmt.Sprintf("%d Machines provisioned", n), timeout, func() (bool, error) {
		if err := e.c.List(context.Background(), &machines, client.MatchingLabels{clusterv1.ClusterNameLabel: cluster}); err != nil {
			return false, err
		}
		provisioned := 0
		for _, m := range machines.Items {
			if m.Status.Phase == string(clusterv1.MachinePhaseProvisioned) || m.Status.Phase == string(clusterv1.MachinePhaseRunning) {
				provisioned++
			}
		}
		return provisioned == n && len(machines.Items) == n, nil
	})
	return machines.Items
}

// warnings counts the warning events of an object with reason.
func (e env) warnings(t *testing.T, name, reason string) int {
	t.Helper()
	return enginetest.Warnings(t, e.c, "default", name, reason)
}

// dumpObjects logs what is left, for a failed test.
func dumpObjects(t *testing.T, c client.Client) {
	enginetest.DumpObjects(t, c, &infrav1.DOClusterList{}, &infrav1.DOMachineList{})
}

// liveResource is an entry of the simulator's leak check.
type liveResource struct {
	Kind  string   `json:"kind"`
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	State string   `json:"state"`
	Tags  []string `json:"tags"`
}

func resources(t *testing.T) []liveResource {
	t.Helper()
	var out []liveResource
	if err := doControl(http.MethodGet, "/_lab/resources", nil, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func countKinds(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, r := range resources(t) {
		out[r.Kind]++
	}
	return out
}

// calls returns the simulator's calls per action ("droplets:create").
func calls(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	if err := doControl(http.MethodGet, "/_lab/calls", nil, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// callsSince is the calls per action made since before.
func callsSince(t *testing.T, before map[string]int) map[string]int {
	t.Helper()
	out := map[string]int{}
	for k, v := range calls(t) {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

// setFaults replaces the simulator's injected faults (nil removes them)
// until the end of the test.
func setFaults(t *testing.T, faults []map[string]any) {
	t.Helper()
	method := http.MethodPut
	if faults == nil {
		method = http.MethodDelete
	}
	if err := doControl(method, "/_lab/faults", faults, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = doControl(http.MethodDelete, "/_lab/faults", nil, nil) })
}

// kubernetesImage is the ID of the simulator's Ubuntu 24.04 image with
// Kubernetes at version.
func kubernetesImage(t *testing.T, version string) string {
	t.Helper()
	var images []struct {
		ID                int    `json:"id"`
		Name              string `json:"name"`
		KubernetesVersion string `json:"kubernetesVersion"`
	}
	if err := doControl(http.MethodGet, "/_lab/images", nil, &images); err != nil {
		t.Fatal(err)
	}
	for _, img := range images {
		if img.KubernetesVersion == version && strings.Contains(img.Name, "24") {
			return fmt.Sprint(img.ID)
		}
	}
	t.Fatalf("no image with Kubernetes %s in %+v", version, images)
	return ""
}

// doControl calls the simulator's control API.
func doControl(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(doEndpoint, "/")+path, body)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, msg)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
