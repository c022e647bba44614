package controllers

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/cluster-api/util/conditions"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
)

func setCondition(obj conditions.Setter, condType string, ok bool, reason, message string) {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	conditions.Set(obj, metav1.Condition{Type: condType, Status: status, Reason: reason, Message: message})
}

// failureReason is the condition reason of a failed step: its own for an
// error a retry may clear, else permanentReason or the cloud package's
// more precise one (such as ImageNotFound).
func failureReason(err error, reason, permanentReason string) string {
	p := cloud.AsPermanent(err)
	switch {
	case p == nil:
		return reason
	case p.Reason != "":
		return p.Reason
	}
	return permanentReason
}
