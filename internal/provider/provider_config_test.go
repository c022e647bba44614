package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/acctest"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
)

// The provider's inline settings reach the management cluster without any
// kubeconfig file, as in a remote run.
func TestAccProvider_inlineSettings(t *testing.T) {
	kc := loadLabKubeconfig(t)
	name := testClusterName()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			ConfigVariables: config.Variables{
				"host": config.StringVariable(kc.host), "ca": config.StringVariable(kc.ca),
				"cert": config.StringVariable(kc.cert), "key": config.StringVariable(kc.key),
			},
			Config: fmt.Sprintf(`
variable "host" {}
variable "ca" {}
variable "cert" {}
variable "key" { sensitive = true }
provider "capi" {
  kubernetes {
    config_path            = "/nonexistent/kubeconfig"
    host                   = var.host
    cluster_ca_certificate = var.ca
    client_certificate     = var.cert
    client_key             = var.key
  }
}
data "capi_cluster" "missing" { name = %q }
`, name),
			ExpectError: wrapped("loading kubeconfig /nonexistent/kubeconfig"),
		}, {
			ConfigVariables: config.Variables{
				"host": config.StringVariable(kc.host), "ca": config.StringVariable(kc.ca),
				"cert": config.StringVariable(kc.cert), "key": config.StringVariable(kc.key),
			},
			Config: fmt.Sprintf(`
variable "host" {}
variable "ca" {}
variable "cert" {}
variable "key" { sensitive = true }
provider "capi" {
  kubernetes {
    host                   = var.host
    cluster_ca_certificate = var.ca
    client_certificate     = var.cert
    client_key             = var.key
  }
}
resource "capi_cluster" "test" { name = %q }
`, name),
		}},
	})
}

func TestAccProvider_connectionErrors(t *testing.T) {
	kc := loadLabKubeconfig(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: `
provider "capi" {
  kubernetes {
    host     = "https://127.0.0.1:1"
    insecure = true
  }
}
data "capi_cluster" "test" { name = "any" }
`,
				ExpectError: wrapped("management cluster at https://127.0.0.1:1 is unreachable"),
			},
			{
				ConfigVariables: config.Variables{"host": config.StringVariable(kc.host), "ca": config.StringVariable(kc.ca)},
				Config: `
variable "host" {}
variable "ca" {}
provider "capi" {
  kubernetes {
    host                   = var.host
    cluster_ca_certificate = var.ca
    token                  = "not-a-valid-token"
  }
}
data "capi_cluster" "test" { name = "any" }
`,
				ExpectError: regexp.MustCompile(`(?s)rejected the credentials.*401 Unauthorized`),
			},
			{
				Config: `
provider "capi" {
  kubernetes {
    host       = "https://127.0.0.1:6443"
    client_key = "only half of a key pair"
  }
}
data "capi_cluster" "test" { name = "any" }
`,
				ExpectError: wrapped("client_certificate and client_key must be set together"),
			},
		},
	})
}

// A namespace that does not exist is reported as such, and nothing is left.
func TestAccCluster_missingNamespace(t *testing.T) {
	namespace := acctest.RandomWithPrefix("tf-acc-missing")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
resource "capi_cluster" "test" {
  name      = "c1"
  namespace = %q
}`, namespace),
			ExpectError: wrapped(`namespaces "` + namespace + `" not found`),
		}},
	})
}

type labCredentials struct{ host, ca, cert, key string }

func loadLabKubeconfig(t *testing.T) labCredentials {
	t.Helper()
	labClient(t) // fails the test early without a lab
	cfg, err := clientcmd.LoadFromFile(testLab.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ctx := cfg.Contexts[cfg.CurrentContext]
	cluster, user := cfg.Clusters[ctx.Cluster], cfg.AuthInfos[ctx.AuthInfo]
	return labCredentials{
		host: cluster.Server, ca: string(cluster.CertificateAuthorityData),
		cert: string(user.ClientCertificateData), key: string(user.ClientKeyData),
	}
}

// createNamespace makes a fresh namespace for one test and removes it after.
func createNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{}
	ns.Name = acctest.RandomWithPrefix("tf-acc-ns")
	cl := labClient(t)
	if err := cl.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Delete(context.Background(), ns) })
	return ns.Name
}
