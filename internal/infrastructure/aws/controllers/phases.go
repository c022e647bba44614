package controllers

import (
	"context"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/reconcile"
)

// pendingRequeue is how soon a reconciler looks again at cloud resources
// that are still on their way (EC2 has no watch).
const pendingRequeue = 2 * time.Second

// awsCloud is what the passes need of package cloud.
var awsCloud = reconcile.Cloud{AsPermanent: cloud.AsPermanent, Message: cloud.Message}

// phase is a step of a pass over an AWSCluster or an AWSMachine.
type phase = reconcile.Phase[*scope]

// connect is the phase that gets the AWS clients of the cluster's region;
// failed reports an error in the conditions and events, and returns it.
func connect(clients ClientsFactory, failed func(*scope, error) error) phase {
	return func(ctx context.Context, s *scope) (ctrl.Result, error) {
		c, err := clients(ctx, s.awsCluster.Spec.Region)
		if err != nil {
			return ctrl.Result{}, failed(s, err)
		}
		s.clients = c
		return ctrl.Result{}, nil
	}
}
