package provider

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/terraform"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
)

// negativeConditions are the Cluster's conditions for which False is the
// healthy value (clusterctl describe shows them so).
var negativeConditions = []string{clusterv1.ClusterRollingOutCondition, clusterv1.ClusterScalingUpCondition, clusterv1.ClusterScalingDownCondition,
	clusterv1.ClusterRemediatingCondition, clusterv1.ClusterDeletingCondition, clusterv1.PausedCondition}

// checkStatusesSettled ends the apply first (no reconciler writes after
// that), then checks what kubectl get clusters and clusterctl describe
// cluster would show: the Cluster Available with every positive condition
// True, its control plane and workers counted right, and every deployment
// available with all its replicas.
func checkStatusesSettled(t *testing.T, key client.ObjectKey, controlPlanes, workers int32) func(*terraform.State) error {
	return func(*terraform.State) error {
		endApply()
		ctx := context.Background()
		c := &clusterv1.Cluster{}
		if err := labClient(t).Get(ctx, key, c); err != nil {
			return err
		}
		for _, cond := range c.Status.Conditions {
			if !slices.Contains(negativeConditions, cond.Type) && cond.Status != metav1.ConditionTrue {
				return fmt.Errorf("cluster %s condition %s is %s after the apply: %s", key.Name, cond.Type, cond.Status, cond.Message)
			}
		}
		if !slices.ContainsFunc(c.Status.Conditions, func(cond metav1.Condition) bool { return cond.Type == clusterv1.AvailableCondition }) {
			return fmt.Errorf("cluster %s has no Available condition", key.Name)
		}
		cp, w := c.Status.ControlPlane, c.Status.Workers
		if cp == nil || ptr.Deref(cp.AvailableReplicas, -1) != controlPlanes || ptr.Deref(cp.UpToDateReplicas, -1) != controlPlanes {
			return fmt.Errorf("cluster %s reports control plane %+v, want %d available and up to date", key.Name, cp, controlPlanes)
		}
		if (w == nil && workers != 0) || (w != nil && (ptr.Deref(w.AvailableReplicas, 0) != workers || ptr.Deref(w.DesiredReplicas, 0) != workers ||
			ptr.Deref(w.UpToDateReplicas, 0) != workers)) {
			return fmt.Errorf("cluster %s reports workers %+v, want %d desired, available and up to date", key.Name, w, workers)
		}
		var mds clusterv1.MachineDeploymentList
		if err := labClient(t).List(ctx, &mds, client.InNamespace(key.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: key.Name}); err != nil {
			return err
		}
		for _, md := range mds.Items {
			want := ptr.Deref(md.Spec.Replicas, 0)
			if ptr.Deref(md.Status.AvailableReplicas, -1) != want || ptr.Deref(md.Status.UpToDateReplicas, -1) != want {
				return fmt.Errorf("deployment %s reports %v available, %v up to date, want %d", md.Name,
					ptr.Deref(md.Status.AvailableReplicas, -1), ptr.Deref(md.Status.UpToDateReplicas, -1), want)
			}
		}
		return nil
	}
}
