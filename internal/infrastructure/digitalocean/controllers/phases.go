package controllers

import (
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/cloud"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/reconcile"
)

// doCloud is what the passes need of package cloud.
var doCloud = reconcile.Cloud{AsPermanent: cloud.AsPermanent, Message: cloud.Message}
