package digitalocean

import "embed"

// CRDs holds the CustomResourceDefinitions of the DigitalOcean kinds, as
// controller-gen generates them from api/v1alpha1, under crds/.
//
//go:embed crds/*.yaml
var CRDs embed.FS
