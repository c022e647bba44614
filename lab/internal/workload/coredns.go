package workload

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// coreDNSReplicas is kubeadm's replica count for CoreDNS.
const coreDNSReplicas = 2

var coreDNSLabels = map[string]string{"k8s-app": "kube-dns"}

// coreDNSTolerations are those of kubeadm's CoreDNS Deployment: control
// plane nodes take it, nodes that are not ready or not initialized by
// their cloud do not.
var coreDNSTolerations = []corev1.Toleration{
	{Key: "CriticalAddonsOnly", Operator: corev1.TolerationOpExists},
	{Key: controlPlaneRole, Effect: corev1.TaintEffectNoSchedule},
}

// coreDNS is kubeadm's CoreDNS add-on, with the pods its ReplicaSet
// creates: Pending, as no node can take them yet.
func coreDNS() []client.Object {
	replicas := int32(coreDNSReplicas)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: kubeSystem, Name: "coredns", Labels: coreDNSLabels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: coreDNSLabels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: coreDNSLabels}, Spec: corev1.PodSpec{
				Containers:  []corev1.Container{{Name: "coredns", Image: "registry.k8s.io/coredns/coredns:v1.12.1"}},
				Tolerations: coreDNSTolerations,
			}},
		},
	}
	objs := []client.Object{d}
	hash := randomName(10)
	for range coreDNSReplicas {
		objs = append(objs, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: kubeSystem, Name: "coredns-" + hash + "-" + randomName(5), Labels: coreDNSLabels},
			Spec:       *d.Spec.Template.Spec.DeepCopy(),
			Status:     corev1.PodStatus{Phase: corev1.PodPending},
		})
	}
	return objs
}

// randomName is a suffix as Kubernetes generates them.
func randomName(n int) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}

// reconcileCoreDNS is the scheduler and the kubelet for CoreDNS: its
// pending pods run on the first node that takes them (every NoSchedule
// and NoExecute taint tolerated: a Ready node, initialized by its cloud),
// and the Deployment's status counts the running ones.
func (c *cluster) reconcileCoreDNS(ctx context.Context) error {
	var nodes corev1.NodeList
	if err := list(ctx, c.client, &nodes); err != nil {
		return err
	}
	target, why := schedule(nodes.Items, coreDNSTolerations)
	var pods corev1.PodList
	if err := list(ctx, c.client, &pods, client.InNamespace(kubeSystem), client.MatchingLabels(coreDNSLabels)); err != nil {
		return err
	}
	running := 0
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning {
			running++
			continue
		}
		if target != "" {
			running++
		}
		if err := c.updatePod(ctx, &p, target, why); err != nil {
			return err
		}
	}
	return c.updateCoreDNSStatus(ctx, int32(running))
}

// updatePod runs a pending pod on node, or, with none, says why it stays
// Pending (unless it says so already).
func (c *cluster) updatePod(ctx context.Context, p *corev1.Pod, node, why string) error {
	now := metav1.Now()
	if node == "" {
		if i := slices.IndexFunc(p.Status.Conditions, isScheduled); i >= 0 && p.Status.Conditions[i].Message == why {
			return nil
		}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
			Reason: corev1.PodReasonUnschedulable, Message: why, LastTransitionTime: now}}
	} else {
		p.Spec.NodeName = node
		p.Status = corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &now, Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		}}
	}
	return c.client.Update(ctx, p)
}

func isScheduled(c corev1.PodCondition) bool { return c.Type == corev1.PodScheduled }

// updateCoreDNSStatus is the Deployment controller's status for running
// ready pods, written only when it changes.
func (c *cluster) updateCoreDNSStatus(ctx context.Context, running int32) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var d appsv1.Deployment
		if err := c.client.Get(ctx, client.ObjectKey{Namespace: kubeSystem, Name: "coredns"}, &d); err != nil {
			return client.IgnoreNotFound(err)
		}
		if d.Status.Replicas == coreDNSReplicas && d.Status.AvailableReplicas == running {
			return nil
		}
		available := corev1.ConditionFalse
		reason, message := "MinimumReplicasUnavailable", "Deployment does not have minimum availability."
		if running == coreDNSReplicas {
			available, reason, message = corev1.ConditionTrue, "MinimumReplicasAvailable", "Deployment has minimum availability."
		}
		now := metav1.Now()
		// The in-memory runtime has no status subresource: this write
		// itself bumps the generation.
		d.Status = appsv1.DeploymentStatus{
			ObservedGeneration: d.Generation + 1, Replicas: coreDNSReplicas, UpdatedReplicas: coreDNSReplicas,
			ReadyReplicas: running, AvailableReplicas: running, UnavailableReplicas: coreDNSReplicas - running,
			Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: available,
				Reason: reason, Message: message, LastUpdateTime: now, LastTransitionTime: now}},
		}
		return c.client.Update(ctx, &d)
	})
}

// schedule is the scheduler's taint filter: the first node whose
// NoSchedule and NoExecute taints are all tolerated, or, with none, the
// scheduler's message.
func schedule(nodes []corev1.Node, tolerations []corev1.Toleration) (string, string) {
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	reasons := map[string]int{}
	for _, n := range nodes {
		why := unschedulable(&n, tolerations)
		if why == "" {
			return n.Name, ""
		}
		reasons[why]++
	}
	var parts []string
	for why, count := range reasons {
		parts = append(parts, fmt.Sprintf("%d %s", count, why))
	}
	sort.Strings(parts)
	return "", fmt.Sprintf("0/%d nodes are available: %s.", len(nodes), strings.Join(parts, ", "))
}

// unschedulable says why the node cannot take the pod, "" if it can.
func unschedulable(n *corev1.Node, tolerations []corev1.Toleration) string {
	if n.Spec.Unschedulable {
		return "node(s) were unschedulable"
	}
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectPreferNoSchedule {
			continue
		}
		if !slices.ContainsFunc(tolerations, func(tol corev1.Toleration) bool { return tolerates(tol, t) }) {
			return fmt.Sprintf("node(s) had untolerated taint {%s: %s}", t.Key, t.Value)
		}
	}
	return ""
}

// tolerates matches a toleration to a taint as the scheduler does.
func tolerates(tol corev1.Toleration, t corev1.Taint) bool {
	if tol.Effect != "" && tol.Effect != t.Effect {
		return false
	}
	if tol.Key != "" && tol.Key != t.Key {
		return false
	}
	if tol.Key == "" && tol.Operator != corev1.TolerationOpExists {
		return false
	}
	return tol.Operator == corev1.TolerationOpExists || tol.Value == t.Value
}
