// Command terraform-provider-capi is a Terraform provider whose resources
// are Cluster API objects in a management Kubernetes cluster.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/terraform-capi/terraform-provider-capi/internal/provider"
)

// version is set by the release build (goreleaser) through ldflags.
var version = "dev"

//go:generate go run ./internal/crds/gen
//go:generate go run sigs.k8s.io/controller-tools/cmd/controller-gen@v0.21.0 object crd:crdVersions=v1 paths=./internal/infrastructure/aws/... output:crd:artifacts:config=internal/infrastructure/aws/crds
//go:generate go run sigs.k8s.io/controller-tools/cmd/controller-gen@v0.21.0 object crd:crdVersions=v1 paths=./internal/infrastructure/digitalocean/... output:crd:artifacts:config=internal/infrastructure/digitalocean/crds
//go:generate make docs

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/terraform-capi/capi",
		Debug:   debug,
	})
	// Terraform is done with the provider: give the cluster leases back
	// rather than let the next apply wait for them to expire.
	provider.Shutdown()
	if err != nil {
		log.Fatal(err)
	}
}
