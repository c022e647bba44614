package provider

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/echoprovider"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The workload cluster's kubeconfig, which KCP writes once the endpoint is
// known, reaches another provider through the ephemeral resource (never
// in the state) and the data source (in the state, sensitive).
func TestAccClusterKubeconfig(t *testing.T) {
	useLabAWS(t)
	name := testClusterName()
	key := client.ObjectKey{Namespace: "default", Name: name}
	endpoint := knownvalue.StringRegexp(loadBalancerEndpoint)
	factories := map[string]func() (tfprotov6.ProviderServer, error){
		"capi": testAccProtoV6ProviderFactories["capi"],
		"echo": echoprovider.NewProviderServer(),
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		CheckDestroy:             checkNothingLeft(t, key),
		Steps: []resource.TestStep{
			{Config: awsClusterConfig(name, `{}`)},
			{
				PreConfig: func() {
					err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
						err := labClient(t).Get(ctx, client.ObjectKey{Namespace: "default", Name: name + "-kubeconfig"}, &corev1.Secret{})
						return err == nil, client.IgnoreNotFound(err)
					})
					if err != nil {
						t.Fatalf("KCP wrote no kubeconfig: %v", err)
					}
				},
				Config: awsClusterConfig(name, `{}`) + `
ephemeral "capi_cluster_kubeconfig" "test" {
  cluster = capi_cluster.test.name
}

provider "echo" {
  data = ephemeral.capi_cluster_kubeconfig.test.host
}

resource "echo" "endpoint" {}

data "capi_cluster_kubeconfig" "test" {
  cluster = capi_cluster.test.name
}
`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("echo.endpoint", tfjsonpath.New("data"), endpoint),
					statecheck.ExpectKnownValue("data.capi_cluster_kubeconfig.test", tfjsonpath.New("host"), endpoint),
					statecheck.ExpectKnownValue("data.capi_cluster_kubeconfig.test", tfjsonpath.New("kubeconfig"),
						knownvalue.StringRegexp(regexp.MustCompile(`(?s)client-certificate-data: .*client-key-data: `))),
				},
			},
		},
	})
}
