package reconcile

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/failure"
)

// The reasons of the skeleton's conditions.
const (
	// provisioningReason: Ready, before a step has reported its condition.
	provisioningReason = "Provisioning"
	// waitingForClusterInfrastructureReason: a machine's cluster has no
	// infrastructure provisioned yet.
	waitingForClusterInfrastructureReason = "WaitingForClusterInfrastructure"
	// waitingForBootstrapDataReason: a Machine has no bootstrap data yet.
	waitingForBootstrapDataReason = "WaitingForBootstrapData"
)

// Classifier is a cloud package's AsPermanent: err's PermanentError when
// no retry can clear err, else nil.
type Classifier func(err error) *failure.PermanentError

// SetCondition sets condType on obj: true when ok, else false.
func SetCondition(obj conditions.Setter, condType string, ok bool, reason, message string) {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	conditions.Set(obj, metav1.Condition{Type: condType, Status: status, Reason: reason, Message: message})
}

// NotReady sets condType, an infrastructure machine's own condition, and
// Ready to false with reason and message.
func NotReady(obj conditions.Setter, condType, reason, message string) {
	SetCondition(obj, condType, false, reason, message)
	SetCondition(obj, clusterv1.ReadyCondition, false, reason, message)
}

// FailureReason is the condition reason of a failed step: its own for an
// error a retry may clear, else the cloud package's more precise one
// (such as ImageNotFound or UserDataTooLarge) or permanentReason.
// permanent is the cloud package's AsPermanent.
func FailureReason(permanent Classifier, err error, reason, permanentReason string) string {
	p := permanent(err)
	switch {
	case p == nil:
		return reason
	case p.Reason != "":
		return p.Reason
	}
	return permanentReason
}

// Summarize sets Ready on an infrastructure cluster from its conditions
// of types, in order: true once they all are, else false with the reason
// and message of the first that is not. A deletion sets Ready itself:
// obj's is left alone once it is being deleted.
func Summarize(obj Object, types ...string) {
	if !obj.GetDeletionTimestamp().IsZero() {
		return
	}
	for _, t := range types {
		cond := conditions.Get(obj, t)
		if cond == nil || cond.Status != metav1.ConditionTrue {
			reason, message := provisioningReason, t+" not reported yet"
			if cond != nil {
				reason, message = cond.Reason, cond.Message
			}
			SetCondition(obj, clusterv1.ReadyCondition, false, reason, message)
			return
		}
	}
	SetCondition(obj, clusterv1.ReadyCondition, true, clusterv1.ReadyReason, "")
}

// WaitsForCluster says whether a pass over an infrastructure machine, obj,
// waits, as Cluster API's contract has it, for its cluster's
// infrastructure to be provisioned (infrastructure says what that is) or
// for its Machine's bootstrap data, and reports the wait in condType and
// Ready.
func WaitsForCluster(obj Object, condType string, cluster *clusterv1.Cluster, machine *clusterv1.Machine, infrastructure string) bool {
	switch {
	case !ptr.Deref(cluster.Status.Initialization.InfrastructureProvisioned, false):
		NotReady(obj, condType, waitingForClusterInfrastructureReason, "Waiting for "+infrastructure)
	case machine.Spec.Bootstrap.DataSecretName == nil:
		NotReady(obj, condType, waitingForBootstrapDataReason, "Waiting for the bootstrap provider's data secret")
	default:
		return false
	}
	return true
}
