package main

import (
	"context"
	"net"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/digitalocean/godo"
	"golang.org/x/oauth2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	"sigs.k8s.io/cluster-api/bootstrap/kubeadm/pkg/cloudinit"
	"sigs.k8s.io/cluster-api/util/secret"

	"github.com/terraform-capi/terraform-provider-capi/lab/internal/awssim"
	"github.com/terraform-capi/terraform-provider-capi/lab/internal/dosim"
)

// A droplet booting with Cluster API's kubeadm cloud-init behind a
// DigitalOcean load balancer becomes the control plane of a workload
// cluster served at the load balancer's IP, once its health checks
// pass, with the node named and identified as Cluster API's DigitalOcean
// templates ask.
func TestDropletControlPlaneAnswersAtItsLoadBalancer(t *testing.T) {
	do := dosim.New(dosim.Config{HealthCheckTimeScale: 0.01})
	if err := simulateWorkloads(awssim.New(awssim.Config{}), do); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(do)
	defer srv.Close()
	hc := oauth2.NewClient(context.Background(), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "capi-lab"}))
	client, err := godo.New(hc, godo.SetBaseURL(srv.URL+"/"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	lb, _, err := client.LoadBalancers.Create(ctx, &godo.LoadBalancerRequest{
		Name: "c1-apiserver", Region: "fra1", Tag: "c1:apiserver",
		ForwardingRules: []godo.ForwardingRule{{EntryProtocol: "tcp", EntryPort: 6443, TargetProtocol: "tcp", TargetPort: 6443}},
		HealthCheck:     &godo.HealthCheck{Protocol: "tcp", Port: 6443},
	})
	if err != nil {
		t.Fatal(err)
	}
	for lb.IP == "" {
		time.Sleep(50 * time.Millisecond)
		if lb, _, err = client.LoadBalancers.Get(ctx, lb.ID); err != nil {
			t.Fatal(err)
		}
	}
	endpoint := net.JoinHostPort(lb.IP, "6443")

	certs := secret.NewCertificatesForInitialControlPlane(&bootstrapv1.ClusterConfiguration{})
	if err := certs.Generate(); err != nil {
		t.Fatal(err)
	}
	userData, err := cloudinit.NewInitControlPlane(&cloudinit.ControlPlaneInput{
		Certificates: certs,
		ClusterConfiguration: "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n" +
			"controlPlaneEndpoint: " + endpoint + "\nkubernetesVersion: v1.36.3\n",
		InitConfiguration: "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nnodeRegistration:\n" +
			"  name: '{{ ds.meta_data[\"local_hostname\"] }}'\n" +
			"  kubeletExtraArgs:\n  - name: provider-id\n    value: 'digitalocean://{{ ds.meta_data[\"instance_id\"] }}'\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := client.Droplets.Create(ctx, &godo.DropletCreateRequest{Name: "c1-cp-x7k2p", Region: "fra1", Size: "s-2vcpu-4gb",
		Image:    godo.DropletCreateImage{ID: dosim.ImageID(dosim.KubernetesImageName("2404", "v1.36.3"))},
		UserData: string(userData), Tags: []string{"c1:apiserver"}})
	if err != nil {
		t.Fatal(err)
	}

	cs, err := kubernetes.NewForConfig(&rest.Config{Host: "https://" + endpoint, Timeout: 2 * time.Second,
		TLSClientConfig: rest.TLSClientConfig{CAData: certs.GetByPurpose(secret.ClusterCA).KeyPair.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	var last error
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		n, err := cs.CoreV1().Nodes().Get(ctx, "c1-cp-x7k2p", metav1.GetOptions{})
		if err == nil {
			if n.Spec.ProviderID != "digitalocean://"+strconv.Itoa(d.ID) {
				t.Fatalf("provider ID %q", n.Spec.ProviderID)
			}
			break
		}
		last = err
		if time.Now().After(deadline) {
			t.Fatalf("the workload API server never answered at %s with the droplet's node: %v", endpoint, last)
		}
	}

	// Deleting the load balancer takes the endpoint away.
	if _, err := client.LoadBalancers.Delete(ctx, lb.ID); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		conn, err := net.DialTimeout("tcp", endpoint, time.Second)
		if err != nil {
			break
		}
		_ = conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("the endpoint still answers without its load balancer")
		}
	}
}
