//go:build tools

// Package tools records build-time dependencies of the lab module: kubectl
// (k8s.io/kubernetes/cmd/kubectl) is built from here on machines without it.
package tools

import (
	_ "k8s.io/kubectl/pkg/cmd"
)
