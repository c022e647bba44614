package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"fmt"
	"mime/multipart"
	"net"
	"net/http/httptest"
	"net/textproto"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

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

// An EC2 control plane machine whose bootstrap data is in Secrets
// Manager, behind the boothook that fetches it, becomes the control plane
// of a workload cluster at its load balancer's address, and leaves no
// secret behind.
func TestEC2ControlPlaneBootsFromSecretsManager(t *testing.T) {
	sim := awssim.New(awssim.Config{Region: "eu-west-1", HealthCheckTimeScale: 0.01})
	if err := simulateWorkloads(sim, dosim.New(dosim.Config{})); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(srv.URL)}
	ec2c, elb, sm := ec2.NewFromConfig(cfg), elbv2.NewFromConfig(cfg), secretsmanager.NewFromConfig(cfg)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	vpc, err := ec2c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	must(err)
	sn, err := ec2c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.0.0.0/20"), AvailabilityZone: aws.String("eu-west-1a")})
	must(err)
	lb, err := elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("c1-apiserver"), Type: elbv2types.LoadBalancerTypeEnumNetwork,
		Subnets: []string{*sn.Subnet.SubnetId}})
	must(err)
	tg, err := elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("c1-apiserver"), Protocol: elbv2types.ProtocolEnumTcp,
		Port: aws.Int32(6443), VpcId: vpc.Vpc.VpcId, TargetType: elbv2types.TargetTypeEnumInstance})
	must(err)
	_, err = elb.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Protocol: elbv2types.ProtocolEnumTcp,
		Port: aws.Int32(6443), DefaultActions: []elbv2types.Action{{Type: elbv2types.ActionTypeEnumForward, TargetGroupArn: tg.TargetGroups[0].TargetGroupArn}}})
	must(err)
	endpoint := net.JoinHostPort(*lb.LoadBalancers[0].DNSName, "6443")

	certs := secret.NewCertificatesForInitialControlPlane(&bootstrapv1.ClusterConfiguration{})
	must(certs.Generate())
	initData, err := cloudinit.NewInitControlPlane(&cloudinit.ControlPlaneInput{
		Certificates: certs,
		ClusterConfiguration: "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n" +
			"controlPlaneEndpoint: " + endpoint + "\nkubernetesVersion: v1.36.3\n",
		InitConfiguration: "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nnodeRegistration:\n" +
			"  name: '{{ ds.meta_data.local_hostname }}'\n",
	})
	must(err)

	// The provider's way: gzip, chunks under Secrets Manager's limit,
	// and user data that is only the boothook and its include.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(initData)
	must(zw.Close())
	const prefix = "aws.cluster.x-k8s.io/3b9e2c1d-machine-uid"
	chunks := 0
	for data := gz.Bytes(); len(data) > 0; chunks++ {
		n := min(len(data), 4096)
		_, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(fmt.Sprintf("%s-%d", prefix, chunks)), SecretBinary: data[:n]})
		must(err)
		data = data[n:]
	}
	script := fmt.Sprintf("#!/bin/bash\nSECRET_PREFIX=%q\nCHUNKS=%q\nREGION=%q\n"+
		"for i in $(seq 0 $((CHUNKS - 1))); do aws secretsmanager get-secret-value --region \"$REGION\" --secret-id \"${SECRET_PREFIX}-${i}\" "+
		"--query SecretBinary --output text | base64 -d >> /etc/secret-userdata.txt.gz; done\n", prefix, strconv.Itoa(chunks), "eu-west-1")
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, part := range [][2]string{{"text/cloud-boothook", script}, {"text/x-include-url", "file:///etc/secret-userdata.txt\n"}} {
		pw, err := w.CreatePart(textproto.MIMEHeader{"Content-Type": {part[0]}})
		must(err)
		_, _ = pw.Write([]byte(part[1]))
	}
	must(w.Close())
	userData := append([]byte("Content-Type: multipart/mixed; boundary=\""+w.Boundary()+"\"\nMIME-Version: 1.0\n\n"), body.Bytes()...)

	run, err := ec2c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(awssim.ImageID("capa-ami-ubuntu-24.04-v1.36.3-1764500000")),
		InstanceType: ec2types.InstanceTypeT3Medium, MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: sn.Subnet.SubnetId,
		IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String(awssim.CAPAInstanceProfiles[0])},
		MetadataOptions:    &ec2types.InstanceMetadataOptionsRequest{HttpTokens: ec2types.HttpTokensStateRequired},
		UserData:           aws.String(base64.StdEncoding.EncodeToString(userData))})
	must(err)
	_, err = elb.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: tg.TargetGroups[0].TargetGroupArn,
		Targets: []elbv2types.TargetDescription{{Id: run.Instances[0].InstanceId}}})
	must(err)

	cs, err := kubernetes.NewForConfig(&rest.Config{Host: "https://" + endpoint, Timeout: 2 * time.Second,
		TLSClientConfig: rest.TLSClientConfig{CAData: certs.GetByPurpose(secret.ClusterCA).KeyPair.Cert}})
	must(err)
	var last error
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err == nil && len(nodes.Items) == 1 {
			break
		}
		last = err
		if time.Now().After(deadline) {
			t.Fatalf("the workload API server never answered at %s with the instance's node: %v", endpoint, last)
		}
	}
	calls := sim.Calls()
	if calls["secretsmanager:GetSecretValue"] != chunks || calls["secretsmanager:DeleteSecret"] != chunks {
		t.Errorf("calls = %v, want %d reads and deletions", calls, chunks)
	}
	for _, r := range sim.Resources() {
		if r.Kind == "secret" {
			t.Errorf("secret left: %+v", r)
		}
	}
}
