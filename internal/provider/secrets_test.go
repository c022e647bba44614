package provider

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
)

// An HA cluster with workers, applied with TF_LOG=TRACE: no private key,
// client key or bootstrap token of the cluster is in Terraform's log, the
// provider's log, the state, or any Kubernetes Event; no instance's user
// data (as DescribeInstanceAttribute returns it) holds a private key; and
// no bootstrap data is left in Secrets Manager once the nodes joined.
func TestAccSecrets_notInLogsStateEventsOrUserData(t *testing.T) {
	clients := useLabAWS(t)
	bin := queryCapableTerraform(t)
	name := testClusterName()
	key := client.ObjectKey{Namespace: "default", Name: name}
	logs := t.TempDir()
	// Terraform's own log, and the provider's (served in this process:
	// terraform-plugin-log's sink reads these).
	t.Setenv("TF_LOG", "TRACE")
	t.Setenv("TF_LOG_PATH", filepath.Join(logs, "terraform.log"))
	t.Setenv("TF_ACC_LOG_PATH", filepath.Join(logs, "provider.log"))

	callsBefore, err := testLab.AWSCalls()
	if err != nil {
		t.Fatal(err)
	}
	s := newCLISession(t, bin)
	s.write("main.tf", sessionProviders+haClusterConfig(name, "v1.36.0", 2))
	s.must("init", "-input=false")
	s.must("apply", "-input=false", "-auto-approve")
	callsAfter, err := testLab.AWSCalls()
	if err != nil {
		t.Fatal(err)
	}
	// For the record: what storing the bootstrap data costs, per machine.
	for _, call := range []string{"secretsmanager:CreateSecret", "secretsmanager:DeleteSecret", "secretsmanager:GetSecretValue"} {
		t.Logf("%s: %.1f calls per machine", call, float64(callsAfter[call]-callsBefore[call])/5)
	}
	t.Cleanup(func() { s.run("destroy", "-input=false", "-auto-approve") })

	secrets := clusterSecrets(t, key)
	scan := map[string]string{"state": s.read("terraform.tfstate")}
	for _, f := range []string{"terraform.log", "provider.log"} {
		b, err := os.ReadFile(filepath.Join(logs, f))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			t.Fatalf("%s is empty: the scan would prove nothing", f)
		}
		scan[f] = string(b)
	}
	var events corev1.EventList
	if err := labClient(t).List(context.Background(), &events); err != nil {
		t.Fatal(err)
	}
	var eventText strings.Builder
	for _, ev := range events.Items {
		eventText.WriteString(ev.Reason + " " + ev.Message + "\n")
	}
	scan["events"] = eventText.String()
	for where, text := range scan {
		for what, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Errorf("%s holds %s", where, what)
			}
		}
	}

	ctx := context.Background()
	out, err := clients.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: awssdk.String("tag-key"), Values: []string{cloud.Cluster{Namespace: key.Namespace, Name: key.Name}.OwnerTag()}},
		{Name: awssdk.String("instance-state-name"), Values: []string{"running"}}}})
	if err != nil {
		t.Fatal(err)
	}
	instances := 0
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			instances++
			attr, err := clients.EC2.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: i.InstanceId, Attribute: ec2types.InstanceAttributeNameUserData})
			if err != nil {
				t.Fatal(err)
			}
			ud, _ := base64.StdEncoding.DecodeString(awssdk.ToString(attr.UserData.Value))
			if strings.Contains(string(ud), "PRIVATE KEY") || !strings.Contains(string(ud), "text/cloud-boothook") {
				t.Errorf("user data of %s is not the boothook alone", awssdk.ToString(i.InstanceId))
			}
			if mo := i.MetadataOptions; mo == nil || mo.HttpTokens != ec2types.HttpTokensStateRequired {
				t.Errorf("instance %s: metadata options %+v", awssdk.ToString(i.InstanceId), i.MetadataOptions)
			}
		}
	}
	if instances != 5 {
		t.Errorf("%d running instances, want 5", instances)
	}
	live, err := testLab.AWSResources()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range live {
		if r.Kind == "secret" {
			t.Errorf("secret %s left after the nodes joined", r.ID)
		}
	}
}

// clusterSecrets are the values that must never leak, by name: the CA's
// private key (PEM and base64), the admin kubeconfig's client key, and
// the bootstrap tokens' secret halves.
func clusterSecrets(t *testing.T, key client.ObjectKey) map[string]string {
	t.Helper()
	ctx := context.Background()
	cl := labClient(t)
	out := map[string]string{"a private key": "PRIVATE KEY"}
	ca := &corev1.Secret{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: key.Name + "-ca"}, ca); err != nil {
		t.Fatal(err)
	}
	pem := string(ca.Data["tls.key"])
	if pem == "" {
		t.Fatal("the CA Secret has no tls.key")
	}
	out["the CA key"] = pem[strings.Index(pem, "\n")+1:][:64]
	out["the CA key in base64"] = base64.StdEncoding.EncodeToString(ca.Data["tls.key"])[:64]
	kc := &corev1.Secret{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: key.Name + "-kubeconfig"}, kc); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.Load(kc.Data["value"])
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range cfg.AuthInfos {
		out["the kubeconfig's client key"] = base64.StdEncoding.EncodeToString(a.ClientKeyData)[:64]
	}
	var configs bootstrapv1.KubeadmConfigList
	if err := cl.List(ctx, &configs, client.InNamespace(key.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: key.Name}); err != nil {
		t.Fatal(err)
	}
	for _, c := range configs.Items {
		if bt := c.Spec.JoinConfiguration.Discovery.BootstrapToken; bt.Token != "" {
			if _, secret, ok := strings.Cut(bt.Token, "."); ok {
				out["bootstrap token of "+c.Name] = secret
			}
		}
	}
	return out
}
