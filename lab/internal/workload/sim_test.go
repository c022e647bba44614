package workload

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	"sigs.k8s.io/cluster-api/bootstrap/kubeadm/pkg/cloudinit"
	"sigs.k8s.io/cluster-api/util/secret"
)

// loopbackEndpoint picks a free address on loopback for a cluster.
func loopbackEndpoint(t *testing.T) string {
	for range 20 {
		addr := fmt.Sprintf("127.%d.%d.%d:6443", 1+rand.IntN(250), rand.IntN(250), 1+rand.IntN(250))
		if l, err := net.Listen("tcp", addr); err == nil {
			_ = l.Close()
			return addr
		}
	}
	t.Fatal("no free loopback address")
	return ""
}

// Node registrations the tests' kubeadm configurations carry.
const (
	// nameFromMetadata names the node after the instance's private DNS
	// name, as Cluster API's AWS templates do.
	nameFromMetadata = "  name: '{{ ds.meta_data.local_hostname }}'\n"
	// providerIDArg passes the kubelet its provider ID, rendered by
	// cloud-init.
	providerIDArg = "  kubeletExtraArgs:\n  - name: provider-id\n" +
		"    value: 'aws:///{{ ds.meta_data.placement.availability_zone }}/{{ ds.meta_data.instance_id }}'\n"
	// externalCloudProvider leaves the node to a cloud controller manager.
	externalCloudProvider = "  kubeletExtraArgs:\n  - name: cloud-provider\n    value: external\n"
	// gpuTaint replaces kubeadm's default registration taints.
	gpuTaint = "  taints:\n  - {key: dedicated, value: gpu, effect: NoSchedule}\n"
)

// initUserData is CABPK's cloud-init for the first control plane machine
// of a v1.36.3 cluster, with the given nodeRegistration fields.
func initUserData(t *testing.T, endpoint, registration string) ([]byte, secret.Certificates) {
	certs := secret.NewCertificatesForInitialControlPlane(&bootstrapv1.ClusterConfiguration{})
	if err := certs.Generate(); err != nil {
		t.Fatal(err)
	}
	data, err := cloudinit.NewInitControlPlane(&cloudinit.ControlPlaneInput{
		Certificates: certs,
		ClusterConfiguration: "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n" +
			"controlPlaneEndpoint: " + endpoint + "\nkubernetesVersion: v1.36.3\n",
		InitConfiguration: "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n" +
			"nodeRegistration:\n" + registration,
	})
	if err != nil {
		t.Fatal(err)
	}
	return data, certs
}

// joinUserData is CABPK's cloud-init for a worker.
func joinUserData(t *testing.T, endpoint, token, registration string) []byte {
	data, err := cloudinit.NewNode(&cloudinit.NodeInput{JoinConfiguration: "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\n" +
		"discovery:\n  bootstrapToken:\n    apiServerEndpoint: " + endpoint + "\n    token: " + token + "\n    caCertHashes: [sha256:00]\n" +
		"nodeRegistration:\n" + registration})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func instance(id string, n int, userData []byte) Instance {
	ip := fmt.Sprintf("10.0.1.%d", n)
	return Instance{ID: id, PrivateIP: ip, PrivateDNSName: fmt.Sprintf("ip-10-0-1-%d.ec2.internal", n),
		AvailabilityZone: "us-east-1a", InstanceType: "m5.large", KubernetesVersion: "v1.36.3",
		IAMInstanceProfile: "control-plane.cluster-api-provider-aws.sigs.k8s.io", UserData: userData}
}

// tagged is the instance with one more tag.
func tagged(i Instance, key, value string) Instance {
	tags := map[string]string{key: value}
	for k, v := range i.Tags {
		tags[k] = v
	}
	i.Tags = tags
	return i
}

// newSim starts a simulator that stops with the test.
func newSim(t *testing.T) *Simulator {
	ctx, cancel := context.WithCancel(context.Background())
	sim, err := New(ctx, testr.New(t))
	if err != nil {
		t.Fatal(err)
	}
	sim.JoinRetry = 3 * time.Second
	sim.NodeMonitorGracePeriod = 500 * time.Millisecond
	// Nothing may log once the test has ended.
	t.Cleanup(func() { cancel(); <-sim.Stopped() })
	return sim
}

// startCluster boots the first control plane machine and returns a
// client of the cluster that trusts only the cluster CA from the user
// data, once the machine's target is healthy and the node has registered.
func startCluster(t *testing.T, sim *Simulator, cp Instance, endpoint string, certs secret.Certificates) *kubernetes.Clientset {
	sim.InstanceRunning(cp)
	reportHealth(t, sim, endpoint, true)
	cs := clusterClient(t, endpoint, certs)
	waitNodes(t, cs, 1)
	return cs
}

// clusterClient is a client of the cluster at endpoint that trusts only
// the cluster CA from the user data.
func clusterClient(t *testing.T, endpoint string, certs secret.Certificates) *kubernetes.Clientset {
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: "https://" + endpoint, Timeout: 5 * time.Second,
		TLSClientConfig: rest.TLSClientConfig{CAData: certs.GetByPurpose(secret.ClusterCA).KeyPair.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// reportHealth is the load balancer at endpoint reporting whether it has
// a healthy target.
func reportHealth(t *testing.T, sim *Simulator, endpoint string, healthy bool) {
	t.Helper()
	host, port, err := net.SplitHostPort(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(port)
	sim.LoadBalancerHealth(host, n, healthy)
}

// refused says whether connections to endpoint fail.
func refused(endpoint string) bool {
	conn, err := net.DialTimeout("tcp", endpoint, time.Second)
	if err != nil {
		return true
	}
	_ = conn.Close()
	return false
}

// createToken is the bootstrap provider creating a join token.
func createToken(t *testing.T, cs *kubernetes.Clientset, id, secret string) {
	if _, err := cs.CoreV1().Secrets("kube-system").Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "bootstrap-token-" + id},
		Data:       map[string][]byte{"token-id": []byte(id), "token-secret": []byte(secret)},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// getNode reads a node; a missing node is the zero node.
func getNode(t *testing.T, cs *kubernetes.Clientset, name string) corev1.Node {
	t.Helper()
	n, err := cs.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return *n
}

// eventually waits until ok holds.
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
	}
}

func taintKeys(n corev1.Node) []string {
	var keys []string
	for _, t := range n.Spec.Taints {
		keys = append(keys, t.Key+":"+string(t.Effect))
	}
	return keys
}

func waitNodes(t *testing.T, cs *kubernetes.Clientset, want int) []corev1.Node {
	t.Helper()
	var last error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		list, err := cs.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
		if err == nil && len(list.Items) == want {
			return list.Items
		}
		last = err
	}
	t.Fatalf("the workload cluster never had %d nodes (last error %v)", want, last)
	return nil
}

func TestKubeadmInitJoinTerminate(t *testing.T) {
	sim := newSim(t)
	ctx := context.Background()
	endpoint := loopbackEndpoint(t)
	initData, certs := initUserData(t, endpoint, nameFromMetadata+providerIDArg)
	// The serving certificate must chain to the cluster CA and name the
	// endpoint.
	cs := startCluster(t, sim, instance("i-cp1", 10, initData), endpoint, certs)
	nodes := waitNodes(t, cs, 1)
	if n := nodes[0]; n.Name != "ip-10-0-1-10.ec2.internal" || n.Spec.ProviderID != "aws:///us-east-1a/i-cp1" ||
		n.Status.NodeInfo.KubeletVersion != "v1.36.3" || n.Labels[controlPlaneRole] != "" {
		t.Fatalf("control plane node = %s %s %s %v", n.Name, n.Spec.ProviderID, n.Status.NodeInfo.KubeletVersion, n.Labels)
	}
	for _, name := range []string{"etcd-", "kube-apiserver-", "kube-controller-manager-", "kube-scheduler-"} {
		if _, err := cs.CoreV1().Pods("kube-system").Get(ctx, name+nodes[0].Name, metav1.GetOptions{}); err != nil {
			t.Errorf("static pod %s: %v", name, err)
		}
	}
	if _, err := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "kubeadm-config", metav1.GetOptions{}); err != nil {
		t.Errorf("kubeadm-config: %v", err)
	}

	// A join whose token the cluster does not know waits, as kubeadm's
	// discovery does, and joins once the bootstrap provider creates it.
	sim.InstanceRunning(instance("i-w1", 11, joinUserData(t, endpoint, "abcdef.0123456789abcdef", nameFromMetadata+providerIDArg+gpuTaint)))
	time.Sleep(1500 * time.Millisecond)
	if got := waitNodes(t, cs, 1); len(got) != 1 {
		t.Fatal("joined without a token")
	}
	createToken(t, cs, "abcdef", "0123456789abcdef")
	waitNodes(t, cs, 2)
	if n := getNode(t, cs, "ip-10-0-1-11.ec2.internal"); !slices.Equal(taintKeys(n), []string{"dedicated:NoSchedule", "node.kubernetes.io/not-ready:NoSchedule"}) ||
		n.Spec.ProviderID != "aws:///us-east-1a/i-w1" {
		t.Errorf("worker node: taints %v, provider ID %s", n.Spec.Taints, n.Spec.ProviderID)
	}

	// A wrong secret never joins.
	sim.InstanceRunning(instance("i-w2", 12, joinUserData(t, endpoint, "abcdef.ffffffffffffffff", nameFromMetadata)))
	time.Sleep(1500 * time.Millisecond)
	waitNodes(t, cs, 2)

	// Terminating the worker leaves its node, Ready=Unknown and tainted
	// unreachable once the grace period is over: nothing deletes it
	// without a cloud controller manager. Terminating the last control
	// plane machine takes the endpoint down.
	sim.InstanceTerminated("i-w1")
	eventually(t, "the terminated worker's node is unreachable", func() bool {
		n := getNode(t, cs, "ip-10-0-1-11.ec2.internal")
		return nodeUnknown(&n)
	})
	if n := getNode(t, cs, "ip-10-0-1-11.ec2.internal"); !hasTaint(n.Spec.Taints, corev1.TaintNodeUnreachable) {
		t.Errorf("unreachable node's taints %v", n.Spec.Taints)
	}
	time.Sleep(300 * time.Millisecond)
	waitNodes(t, cs, 2)
	sim.InstanceTerminated("i-cp1")
	eventually(t, "the endpoint refuses with no control plane machine", func() bool { return refused(endpoint) })
	host, _, _ := net.SplitHostPort(endpoint)
	sim.HostDeleted(host)
}

// Without a provider-id flag or a cloud controller manager, nothing
// gives a node its provider ID, so Cluster API never matches it.
func TestNoProviderIDWithoutKubeletFlag(t *testing.T) {
	sim := newSim(t)
	endpoint := loopbackEndpoint(t)
	initData, certs := initUserData(t, endpoint, "")
	cs := startCluster(t, sim, instance("i-cp1", 10, initData), endpoint, certs)
	n := getNode(t, cs, "ip-10-0-1-10")
	if n.Spec.ProviderID != "" || n.Labels[corev1.LabelTopologyZone] != "" || hasTaint(n.Spec.Taints, uninitializedTaint.Key) {
		t.Fatalf("node %q: provider ID %q, labels %v, taints %v", n.Name, n.Spec.ProviderID, n.Labels, n.Spec.Taints)
	}
}

func TestKubeletExtraArgsBothShapes(t *testing.T) {
	for version, args := range map[string]string{
		"v1beta4": "  kubeletExtraArgs:\n  - {name: provider-id, value: x}\n  - {name: cloud-provider, value: external}\n",
		"v1beta3": "  kubeletExtraArgs:\n    provider-id: x\n    cloud-provider: external\n",
	} {
		data, err := cloudinit.NewNode(&cloudinit.NodeInput{JoinConfiguration: "apiVersion: kubeadm.k8s.io/" + version + "\nkind: JoinConfiguration\n" +
			"discovery:\n  bootstrapToken:\n    apiServerEndpoint: 127.0.0.1:6443\n    token: a.b\n" + "nodeRegistration:\n" + args})
		if err != nil {
			t.Fatal(err)
		}
		b, err := ParseBootstrap(Instance{UserData: data})
		if err != nil || b.ProviderIDArg() != "x" || !b.ExternalCloudProvider() {
			t.Errorf("%s: kubelet args %v, err %v", version, b.KubeletArgs, err)
		}
	}
}

// daemonSet is a minimal DaemonSet running image.
func daemonSet(namespace, name, image string) *appsv1.DaemonSet {
	labels := map[string]string{"k8s-app": name}
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: image}}},
		}},
	}
}

func readyCond(n corev1.Node) corev1.NodeCondition {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c
		}
	}
	return corev1.NodeCondition{}
}

// coreDNSRunning reports the CoreDNS Deployment's available replicas and
// its pods' phases.
func coreDNSRunning(t *testing.T, cs *kubernetes.Clientset) (int32, []corev1.Pod) {
	t.Helper()
	ctx := context.Background()
	d, err := cs.AppsV1().Deployments("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := cs.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=kube-dns"})
	if err != nil {
		t.Fatal(err)
	}
	return d.Status.AvailableReplicas, pods.Items
}

// Nodes are NotReady, as the kubelet reports without a network plugin,
// and CoreDNS is Pending, until a CNI DaemonSet appears; then nodes turn
// Ready and later ones register Ready.
func TestNotReadyUntilNetworkPlugin(t *testing.T) {
	sim := newSim(t)
	ctx := context.Background()
	endpoint := loopbackEndpoint(t)
	initData, certs := initUserData(t, endpoint, nameFromMetadata+providerIDArg)
	cs := startCluster(t, sim, instance("i-cp1", 10, initData), endpoint, certs)
	cp := getNode(t, cs, "ip-10-0-1-10.ec2.internal")
	if c := readyCond(cp); c.Status != corev1.ConditionFalse || c.Reason != "KubeletNotReady" ||
		c.Message != "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized" ||
		!hasTaint(cp.Spec.Taints, "node.kubernetes.io/not-ready") {
		t.Fatalf("node without a network plugin: %+v, taints %v", c, cp.Spec.Taints)
	}
	eventually(t, "CoreDNS says why it is Pending", func() bool {
		available, pods := coreDNSRunning(t, cs)
		return available == 0 && len(pods) == 2 && pods[0].Status.Phase == corev1.PodPending && len(pods[0].Status.Conditions) == 1 &&
			strings.Contains(pods[0].Status.Conditions[0].Message, "untolerated taint {node.kubernetes.io/not-ready: }")
	})

	// A DaemonSet that is no network plugin changes nothing.
	if _, err := cs.AppsV1().DaemonSets("monitoring").Create(ctx, daemonSet("monitoring", "node-exporter", "quay.io/prometheus/node-exporter:v1.9.1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if readyCond(getNode(t, cs, cp.Name)).Status != corev1.ConditionFalse {
		t.Fatal("node-exporter made the node Ready")
	}
	// Cluster API patches its nodes through the API server, which leaves
	// them unstructured in the in-memory store.
	if _, err := cs.CoreV1().Nodes().Patch(ctx, cp.Name, types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"cluster.x-k8s.io/machine":"m1"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}

	if _, err := cs.AppsV1().DaemonSets("calico-system").Create(ctx, daemonSet("calico-system", "calico-node", "quay.io/calico/node:v3.30.0"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the node is Ready and CoreDNS runs", func() bool {
		n := getNode(t, cs, cp.Name)
		available, pods := coreDNSRunning(t, cs)
		return readyCond(n).Status == corev1.ConditionTrue && !hasTaint(n.Spec.Taints, "node.kubernetes.io/not-ready") &&
			available == 2 && pods[0].Status.Phase == corev1.PodRunning && pods[0].Spec.NodeName == cp.Name
	})

	createToken(t, cs, "abcdef", "0123456789abcdef")
	sim.InstanceRunning(instance("i-w1", 11, joinUserData(t, endpoint, "abcdef.0123456789abcdef", nameFromMetadata+providerIDArg)))
	waitNodes(t, cs, 2)
	if w := getNode(t, cs, "ip-10-0-1-11.ec2.internal"); readyCond(w).Status != corev1.ConditionTrue || len(w.Spec.Taints) != 0 {
		t.Fatalf("worker joining after the network plugin: %+v, taints %v", readyCond(w), w.Spec.Taints)
	}
}

// ccmDaemonSet is the AWS cloud controller manager as a
// ClusterResourceSet would apply it.
func ccmDaemonSet() *appsv1.DaemonSet {
	return daemonSet("kube-system", "aws-cloud-controller-manager", "registry.k8s.io/provider-aws/cloud-controller-manager:v1.33.0")
}

func cloudInitializedNode(n corev1.Node, id string) bool {
	return n.Spec.ProviderID == "aws:///us-east-1a/"+id && n.Labels[corev1.LabelTopologyZone] == "us-east-1a" &&
		n.Labels[corev1.LabelTopologyRegion] == "us-east-1" && n.Labels[corev1.LabelInstanceTypeStable] == "m5.large" &&
		!hasTaint(n.Spec.Taints, uninitializedTaint.Key)
}

// With cloud-provider=external, nodes wait uninitialized for a cloud
// controller manager, which initializes only the nodes of instances
// tagged with the cluster ID it read off its own instance, and finds them
// by private DNS name.
func TestCloudControllerManagerInitializesTaggedInstances(t *testing.T) {
	sim := newSim(t)
	ctx := context.Background()
	endpoint := loopbackEndpoint(t)
	initData, certs := initUserData(t, endpoint, nameFromMetadata+externalCloudProvider)
	owned := func(i Instance) Instance { return tagged(i, "kubernetes.io/cluster/c1", "owned") }
	cs := startCluster(t, sim, owned(instance("i-cp1", 10, initData)), endpoint, certs)
	createToken(t, cs, "abcdef", "0123456789abcdef")
	join := func(registration string) []byte {
		return joinUserData(t, endpoint, "abcdef.0123456789abcdef", registration)
	}
	sim.InstanceRunning(tagged(instance("i-shared", 11, join(nameFromMetadata+externalCloudProvider)), "kubernetes.io/cluster/c1", "shared"))
	sim.InstanceRunning(instance("i-untagged", 12, join(nameFromMetadata+externalCloudProvider)))
	sim.InstanceRunning(owned(instance("i-shortname", 13, join(externalCloudProvider))))
	sim.InstanceRunning(tagged(instance("i-other", 14, join(nameFromMetadata+externalCloudProvider)), "kubernetes.io/cluster/c2", "owned"))
	for _, n := range waitNodes(t, cs, 5) {
		if n.Spec.ProviderID != "" || !hasTaint(n.Spec.Taints, uninitializedTaint.Key) {
			t.Fatalf("node %s initialized without a cloud controller manager: %q %v", n.Name, n.Spec.ProviderID, n.Spec.Taints)
		}
	}

	if _, err := cs.AppsV1().DaemonSets("kube-system").Create(ctx, ccmDaemonSet(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the tagged nodes are initialized", func() bool {
		return cloudInitializedNode(getNode(t, cs, "ip-10-0-1-10.ec2.internal"), "i-cp1") &&
			cloudInitializedNode(getNode(t, cs, "ip-10-0-1-11.ec2.internal"), "i-shared")
	})
	time.Sleep(500 * time.Millisecond)
	for _, name := range []string{"ip-10-0-1-12.ec2.internal", "ip-10-0-1-13", "ip-10-0-1-14.ec2.internal"} {
		if n := getNode(t, cs, name); n.Spec.ProviderID != "" || !hasTaint(n.Spec.Taints, uninitializedTaint.Key) {
			t.Errorf("node %s initialized: %q %v", name, n.Spec.ProviderID, n.Spec.Taints)
		}
	}

	// A node that joins later is initialized too.
	sim.InstanceRunning(owned(instance("i-late", 15, join(nameFromMetadata+externalCloudProvider))))
	eventually(t, "the late node is initialized", func() bool {
		return cloudInitializedNode(getNode(t, cs, "ip-10-0-1-15.ec2.internal"), "i-late")
	})

	// Its cloud node lifecycle controller deletes the node of an
	// instance that is gone, once the node is unreachable.
	sim.InstanceTerminated("i-late")
	eventually(t, "the terminated instance's node is deleted", func() bool {
		_, err := cs.CoreV1().Nodes().Get(ctx, "ip-10-0-1-15.ec2.internal", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}

// A cloud controller manager whose instance carries no cluster tag, or
// has no instance profile to call EC2 with, initializes nothing.
func TestCloudControllerManagerWithoutClusterIDOrCredentials(t *testing.T) {
	for name, cp := range map[string]func(Instance) Instance{
		"no cluster tag": func(i Instance) Instance { return i },
		"no instance profile": func(i Instance) Instance {
			i = tagged(i, "kubernetes.io/cluster/c1", "owned")
			i.IAMInstanceProfile = ""
			return i
		},
	} {
		t.Run(name, func(t *testing.T) {
			sim := newSim(t)
			endpoint := loopbackEndpoint(t)
			initData, certs := initUserData(t, endpoint, nameFromMetadata+externalCloudProvider)
			cs := startCluster(t, sim, cp(instance("i-cp1", 10, initData)), endpoint, certs)
			if _, err := cs.AppsV1().DaemonSets("kube-system").Create(context.Background(), ccmDaemonSet(), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
			if n := getNode(t, cs, "ip-10-0-1-10.ec2.internal"); n.Spec.ProviderID != "" || !hasTaint(n.Spec.Taints, uninitializedTaint.Key) {
				t.Fatalf("node initialized: %q %v", n.Spec.ProviderID, n.Spec.Taints)
			}
		})
	}
}

// The kubelet is the image's; an image without Kubernetes has no kubeadm
// to run, and never joins.
func TestKubeletVersionFromImage(t *testing.T) {
	sim := newSim(t)
	endpoint := loopbackEndpoint(t)
	initData, certs := initUserData(t, endpoint, nameFromMetadata)
	cp := instance("i-cp1", 10, initData)
	cp.KubernetesVersion = "v1.36.0"
	cs := startCluster(t, sim, cp, endpoint, certs)
	if v := getNode(t, cs, "ip-10-0-1-10.ec2.internal").Status.NodeInfo.KubeletVersion; v != "v1.36.0" {
		t.Errorf("control plane kubelet %s, want the image's v1.36.0", v)
	}
	createToken(t, cs, "abcdef", "0123456789abcdef")
	join := joinUserData(t, endpoint, "abcdef.0123456789abcdef", nameFromMetadata)
	bare := instance("i-bare", 11, join)
	bare.KubernetesVersion = ""
	sim.InstanceRunning(bare)
	older := instance("i-older", 12, join)
	older.KubernetesVersion = "v1.35.2"
	sim.InstanceRunning(older)
	waitNodes(t, cs, 2)
	if v := getNode(t, cs, "ip-10-0-1-12.ec2.internal").Status.NodeInfo.KubeletVersion; v != "v1.35.2" {
		t.Errorf("worker kubelet %s, want the image's v1.35.2", v)
	}
	time.Sleep(time.Second)
	if n := getNode(t, cs, "ip-10-0-1-11.ec2.internal"); n.Name != "" {
		t.Error("an image without Kubernetes joined")
	}
}

func TestKubeadmVersionChecks(t *testing.T) {
	for _, tc := range []struct {
		cluster, image string
		controlPlane   bool
		fails, warns   bool
	}{
		{cluster: "v1.36.3", image: "v1.36.0", controlPlane: true},
		{cluster: "v1.36.3", image: "v1.37.0", controlPlane: true, fails: true},
		{cluster: "v1.36.3", image: "v1.37.0"},
		{cluster: "v1.36.3", image: "v1.38.0", fails: true},
		{cluster: "v1.36.3", image: "v1.35.2", controlPlane: true, warns: true},
		{cluster: "v1.36.3", image: "v1.33.1"},
		{cluster: "v1.36.3", image: "latest", fails: true},
	} {
		warnings, err := kubeadmVersionChecks(tc.cluster, tc.image, tc.controlPlane)
		if (err != nil) != tc.fails || (len(warnings) > 0) != tc.warns {
			t.Errorf("cluster %s, image %s, control plane %v: warnings %v, err %v", tc.cluster, tc.image, tc.controlPlane, warnings, err)
		}
	}
	_, err := kubeadmVersionChecks("v1.36.3", "v1.38.0", false)
	if want := "this version of kubeadm only supports deploying clusters with the control plane version >= 1.37.0. Current version: v1.36.3"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestParseBootstrapIgnoresOtherUserData(t *testing.T) {
	if _, err := ParseBootstrap(Instance{UserData: []byte("#!/bin/sh\necho hi\n")}); err != ErrNotKubeadm {
		t.Fatalf("err = %v, want ErrNotKubeadm", err)
	}
}

func TestRenderUserDataAsCloudInit(t *testing.T) {
	i := Instance{ID: "i-0abc", PrivateIP: "10.0.1.2", PrivateDNSName: "ip-10-0-1-2.eu-west-1.compute.internal",
		AvailabilityZone: "eu-west-1b", InstanceType: "t3.large"}
	tmpl := "name: {{ ds.meta_data.local_hostname }} {{ds.meta_data.instance_id}} {{ ds.meta_data.placement.availability_zone }} " +
		"{{ ds.meta_data.placement.region }} {{ ds.meta_data.instance_type }} | " +
		"{{ v1.instance_id }} {{v1.local_hostname}} {{ v1.availability_zone }} {{ v1.region }} | {{ ds.meta_data.region }}\n"
	want := "name: ip-10-0-1-2.eu-west-1.compute.internal i-0abc eu-west-1b eu-west-1 t3.large | " +
		"i-0abc ip-10-0-1-2 eu-west-1b eu-west-1 | CI_MISSING_JINJA_VAR/region\n"
	if got := string(renderUserData([]byte("## template: jinja\n"+tmpl), instanceData(i))); got != want {
		t.Errorf("rendered:\n%s\nwant:\n%s", got, want)
	}
	// Without the header cloud-init renders nothing.
	if got := string(renderUserData([]byte(tmpl), instanceData(i))); got != tmpl {
		t.Errorf("rendered without the jinja header: %s", got)
	}
}

func TestNodeNameAsKubeadm(t *testing.T) {
	i := Instance{PrivateDNSName: "ip-10-0-1-2.ec2.internal"}
	if name, err := nodeName(&Bootstrap{}, i); err != nil || name != "ip-10-0-1-2" {
		t.Errorf("no nodeRegistration.name: %q, %v; want the image's short hostname", name, err)
	}
	if name, err := nodeName(&Bootstrap{NodeName: "worker-1"}, i); err != nil || name != "worker-1" {
		t.Errorf("nodeRegistration.name worker-1: %q, %v", name, err)
	}
	// A template cloud-init did not render is no valid node name.
	if _, err := nodeName(&Bootstrap{NodeName: "{{ ds.meta_data.local_hostname }}"}, i); err == nil {
		t.Error("an unrendered template was accepted as node name")
	}
}

func TestParseBootstrapRendersOnlyWithJinjaHeader(t *testing.T) {
	endpoint := "127.0.0.1:6443"
	data := joinUserData(t, endpoint, "abcdef.0123456789abcdef", nameFromMetadata)
	i := instance("i-w1", 11, data)
	b, err := ParseBootstrap(i)
	if err != nil || b.NodeName != "ip-10-0-1-11.ec2.internal" {
		t.Fatalf("CABPK's join: node name %q, err %v", b.NodeName, err)
	}
	first, rest, _ := strings.Cut(string(data), "\n")
	if first != "## template: jinja" {
		t.Fatalf("CABPK's first line is %q", first)
	}
	i.UserData = []byte(rest)
	if b, err = ParseBootstrap(i); err != nil || b.NodeName != "{{ ds.meta_data.local_hostname }}" {
		t.Fatalf("without the header: node name %q, err %v", b.NodeName, err)
	}
}

// hasNode says whether the instance has joined.
func hasNode(sim *Simulator, id string) bool {
	sim.mu.Lock()
	defer sim.mu.Unlock()
	return sim.nodes[id] != nil
}

// The API server answers through its load balancer only while a target
// behind it is healthy; kubeadm init does not wait for it, joins do.
func TestAPIServerAnswersOnlyBehindHealthyTarget(t *testing.T) {
	sim := newSim(t)
	sim.JoinRetry = 20 * time.Second
	endpoint := loopbackEndpoint(t)
	initData, certs := initUserData(t, endpoint, nameFromMetadata+providerIDArg)
	sim.InstanceRunning(instance("i-cp1", 10, initData))
	eventually(t, "kubeadm init without a healthy target", func() bool { return hasNode(sim, "i-cp1") })
	if !refused(endpoint) {
		t.Fatal("the endpoint answers before its target is healthy")
	}

	// A worker's discovery retries until the load balancer forwards.
	sim.InstanceRunning(instance("i-w1", 11, joinUserData(t, endpoint, "abcdef.0123456789abcdef", nameFromMetadata+providerIDArg)))
	time.Sleep(1500 * time.Millisecond)
	if hasNode(sim, "i-w1") {
		t.Fatal("a worker joined through a load balancer without a healthy target")
	}
	reportHealth(t, sim, endpoint, true)
	cs := clusterClient(t, endpoint, certs)
	waitNodes(t, cs, 1)
	createToken(t, cs, "abcdef", "0123456789abcdef")
	waitNodes(t, cs, 2)

	// Without a healthy target the endpoint refuses again, and answers
	// once one is back.
	reportHealth(t, sim, endpoint, false)
	eventually(t, "the endpoint refuses without a healthy target", func() bool { return refused(endpoint) })
	reportHealth(t, sim, endpoint, true)
	waitNodes(t, cs, 2)

	// A healthy target with no control plane machine serves nothing.
	sim.InstanceTerminated("i-cp1")
	eventually(t, "the endpoint refuses with no control plane machine", func() bool { return refused(endpoint) })
	host, _, _ := net.SplitHostPort(endpoint)
	sim.HostDeleted(host)
}
