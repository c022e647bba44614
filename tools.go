//go:build tools

package main

// Build-time tools pinned in go.mod.
import (
	_ "github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs"
)
