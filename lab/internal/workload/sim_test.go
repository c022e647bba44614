package workload

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

func initUserData(t *testing.T, endpoint string) ([]byte, secret.Certificates) {
	certs := secret.NewCertificatesForInitialControlPlane(&bootstrapv1.ClusterConfiguration{})
	if err := certs.Generate(); err != nil {
		t.Fatal(err)
	}
	data, err := cloudinit.NewInitControlPlane(&cloudinit.ControlPlaneInput{
		Certificates: certs,
		ClusterConfiguration: "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n" +
			"controlPlaneEndpoint: " + endpoint + "\nkubernetesVersion: v1.36.3\n",
		InitConfiguration: "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n" +
			"nodeRegistration:\n  name: '{{ ds.meta_data.local_hostname }}'\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	return data, certs
}

func joinUserData(t *testing.T, endpoint, token string) []byte {
	data, err := cloudinit.NewNode(&cloudinit.NodeInput{JoinConfiguration: "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\n" +
		"discovery:\n  bootstrapToken:\n    apiServerEndpoint: " + endpoint + "\n    token: " + token + "\n    caCertHashes: [sha256:00]\n" +
		"nodeRegistration:\n  name: '{{ ds.meta_data.local_hostname }}'\n  taints:\n  - {key: dedicated, value: gpu, effect: NoSchedule}\n"})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func instance(id string, n int, userData []byte) Instance {
	ip := fmt.Sprintf("10.0.1.%d", n)
	return Instance{ID: id, PrivateIP: ip, PrivateDNSName: fmt.Sprintf("ip-10-0-1-%d.ec2.internal", n),
		AvailabilityZone: "us-east-1a", ProviderID: "aws:///us-east-1a/" + id, UserData: userData}
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
	ctx, cancel := context.WithCancel(context.Background())
	sim, err := New(ctx, testr.New(t))
	if err != nil {
		t.Fatal(err)
	}
	// Nothing may log once the test has ended.
	defer func() { cancel(); <-sim.Stopped() }()
	sim.JoinRetry = 3 * time.Second
	endpoint := loopbackEndpoint(t)
	initData, certs := initUserData(t, endpoint)
	sim.InstanceRunning(instance("i-cp1", 10, initData))

	// A client that trusts only the cluster CA from the user data: the
	// serving certificate must chain to it and name the endpoint.
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: "https://" + endpoint,
		TLSClientConfig: rest.TLSClientConfig{CAData: certs.GetByPurpose(secret.ClusterCA).KeyPair.Cert}})
	if err != nil {
		t.Fatal(err)
	}
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
	sim.InstanceRunning(instance("i-w1", 11, joinUserData(t, endpoint, "abcdef.0123456789abcdef")))
	time.Sleep(1500 * time.Millisecond)
	if got := waitNodes(t, cs, 1); len(got) != 1 {
		t.Fatal("joined without a token")
	}
	if _, err := cs.CoreV1().Secrets("kube-system").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "bootstrap-token-abcdef"},
		Data:       map[string][]byte{"token-id": []byte("abcdef"), "token-secret": []byte("0123456789abcdef")},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, n := range waitNodes(t, cs, 2) {
		if n.Name == "ip-10-0-1-11.ec2.internal" && (len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Key != "dedicated" || n.Labels[controlPlaneRole] == "" && n.Spec.ProviderID != "aws:///us-east-1a/i-w1") {
			t.Errorf("worker node: taints %v, provider ID %s", n.Spec.Taints, n.Spec.ProviderID)
		}
	}

	// A wrong secret never joins.
	sim.InstanceRunning(instance("i-w2", 12, joinUserData(t, endpoint, "abcdef.ffffffffffffffff")))
	time.Sleep(1500 * time.Millisecond)
	waitNodes(t, cs, 2)

	// Terminating the worker removes its node; terminating the last
	// control plane machine takes the endpoint down.
	sim.InstanceTerminated("i-w1")
	waitNodes(t, cs, 1)
	sim.InstanceTerminated("i-cp1")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		conn, err := net.Dial("tcp", endpoint)
		if err != nil {
			break
		}
		_ = conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("the endpoint still answers with no control plane machine")
		}
	}
	host, _, _ := net.SplitHostPort(endpoint)
	sim.HostDeleted(host)
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
	data := joinUserData(t, endpoint, "abcdef.0123456789abcdef")
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
