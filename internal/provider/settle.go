package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/annotations"
	"sigs.k8s.io/cluster-api/util/conditions"

	"github.com/terraform-capi/terraform-provider-capi/internal/identity"
	"github.com/terraform-capi/terraform-provider-capi/internal/kube"
)

// A wait that reached its target returns only once the statuses a user
// looks at (kubectl get clusters, clusterctl describe cluster) say what
// the apply achieved. Cluster API aggregates upwards, one reconciler at a
// time: a Machine's conditions into its MachineSet's counters, those into
// the MachineDeployment's, the deployments' and the control plane's into
// the Cluster's. Each level runs after the change below it; the provider
// process, and with it the reconcilers, ends with the apply. Without this
// step the Cluster said "0 available replicas" of six Ready nodes.
const (
	// settleTimeout bounds the step: a status that does not settle
	// (reconcilers busy elsewhere) is logged, not an error.
	settleTimeout = 90 * time.Second
	settleEvery   = 500 * time.Millisecond
)

// settleCluster waits until the statuses of the cluster's objects agree
// with each other (see unsettled), or settleTimeout. A Cluster gone or
// being deleted has nothing to settle.
func settleCluster(ctx context.Context, cl client.Reader, namespace, cluster string) {
	id := namespace + "/" + cluster
	started := time.Now()
	why, last := "", ""
	err := wait.PollUntilContextTimeout(ctx, settleEvery, settleTimeout, true, func(ctx context.Context) (bool, error) {
		objs, err := readStatuses(ctx, cl, namespace, cluster)
		switch {
		case kube.IsNotFound(err):
			return true, nil
		case err != nil:
			why = err.Error()
		default:
			why = objs.unsettled()
		}
		if why != "" && why != last {
			tflog.Debug(ctx, "waiting for the statuses to settle", map[string]any{"cluster": id, "waiting_for": why})
			last = why
		}
		return why == "", nil
	})
	if err != nil {
		tflog.Warn(ctx, "statuses did not settle; kubectl may show them behind for a while", map[string]any{"cluster": id, "waiting_for": why})
		return
	}
	tflog.Debug(ctx, "statuses settled", map[string]any{"cluster": id, "after": time.Since(started).Round(time.Millisecond).String()})
}

// clusterStatuses are the objects of a cluster whose statuses aggregate.
type clusterStatuses struct {
	cluster      *clusterv1.Cluster
	controlPlane *controlplanev1.KubeadmControlPlane
	deployments  []clusterv1.MachineDeployment
	machineSets  []clusterv1.MachineSet
	machines     []clusterv1.Machine
	healthChecks []clusterv1.MachineHealthCheck
	// machinePools says whether the cluster has MachinePools, which the
	// Cluster counts among its workers and this step does not read.
	machinePools bool
}

func readStatuses(ctx context.Context, cl client.Reader, namespace, name string) (clusterStatuses, error) {
	var s clusterStatuses
	s.cluster = &clusterv1.Cluster{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, s.cluster); err != nil {
		return s, err
	}
	if !s.reconciledHere() {
		return s, nil
	}
	if ref := s.cluster.Spec.ControlPlaneRef; ref.IsDefined() && ref.Kind == "KubeadmControlPlane" {
		s.controlPlane = &controlplanev1.KubeadmControlPlane{}
		if err := cl.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.Name}, s.controlPlane); err != nil {
			if !kube.IsNotFound(err) {
				return s, err
			}
			s.controlPlane = nil
		}
	}
	of := []client.ListOption{client.InNamespace(namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: name}}
	var mds clusterv1.MachineDeploymentList
	var mss clusterv1.MachineSetList
	var ms clusterv1.MachineList
	var mhcs clusterv1.MachineHealthCheckList
	for _, l := range []client.ObjectList{&mds, &mss, &ms, &mhcs} {
		if err := cl.List(ctx, l, of...); err != nil {
			return s, err
		}
	}
	s.deployments, s.machineSets, s.machines, s.healthChecks = mds.Items, mss.Items, ms.Items, mhcs.Items
	// The provider makes no MachinePool; a management cluster without
	// their kind has none.
	var pools clusterv1.MachinePoolList
	if err := cl.List(ctx, &pools, of...); err == nil {
		s.machinePools = len(pools.Items) > 0
	}
	return s, nil
}

// reconciledHere says whether the provider's reconcilers settle the
// cluster's statuses: one it labels for them, neither paused nor being
// deleted.
func (s clusterStatuses) reconciledHere() bool {
	c := s.cluster
	if c.Labels[clusterv1.WatchLabel] != identity.WatchFilterValue || annotations.IsPaused(c, c) || !c.DeletionTimestamp.IsZero() {
		return false
	}
	// A paused object's reconciler updates neither its status nor its
	// observed generation.
	objects := []metav1.Object{}
	if s.controlPlane != nil {
		objects = append(objects, s.controlPlane)
	}
	for i := range s.deployments {
		objects = append(objects, &s.deployments[i])
	}
	for i := range s.machineSets {
		objects = append(objects, &s.machineSets[i])
	}
	for _, o := range objects {
		if annotations.HasPaused(o) {
			return false
		}
	}
	return true
}

// replicas are the counters every level of Cluster API reports.
type replicas struct{ desired, current, ready, available, upToDate int32 }

func (r replicas) add(o replicas) replicas {
	return replicas{r.desired + o.desired, r.current + o.current, r.ready + o.ready, r.available + o.available, r.upToDate + o.upToDate}
}

func (r replicas) String() string {
	return fmt.Sprintf("%d desired, %d current, %d ready, %d available, %d up to date", r.desired, r.current, r.ready, r.available, r.upToDate)
}

// counted are the counters of machines, from their conditions; a machine
// updating in place counts as none of ready, available and up to date.
func counted(machines []*clusterv1.Machine) replicas {
	var r replicas
	for _, m := range machines {
		r.current++
		if _, updating := m.Annotations[clusterv1.UpdateInProgressAnnotation]; updating {
			continue
		}
		if conditions.IsTrue(m, clusterv1.MachineReadyCondition) {
			r.ready++
		}
		if conditions.IsTrue(m, clusterv1.MachineAvailableCondition) {
			r.available++
		}
		if conditions.IsTrue(m, clusterv1.MachineUpToDateCondition) {
			r.upToDate++
		}
	}
	return r
}

func reported(desired, current, ready, available, upToDate *int32) replicas {
	return replicas{ptr.Deref(desired, 0), ptr.Deref(current, 0), ptr.Deref(ready, 0), ptr.Deref(available, 0), ptr.Deref(upToDate, 0)}
}

// unsettled says which status does not reflect the level below it yet,
// "" when each does: every object has observed its generation, every
// Machine of a MachineSet has what the MachineSet changes in place (see
// outOfSync), and the counters of each MachineSet, MachineDeployment, control plane and the
// Cluster are those Cluster API computes from the level below (its
// MachineSet, MachineDeployment and Cluster reconcilers' own sums).
func (s clusterStatuses) unsettled() string {
	c := s.cluster
	if !s.reconciledHere() {
		return ""
	}
	if c.Status.ObservedGeneration < c.Generation {
		return "the Cluster's reconciler to observe generation " + fmt.Sprint(c.Generation)
	}
	byOwner := map[string][]*clusterv1.Machine{}
	var standalone, controlPlane []*clusterv1.Machine
	for i := range s.machines {
		m := &s.machines[i]
		_, isControlPlane := m.Labels[clusterv1.MachineControlPlaneLabel]
		switch owner := controllerOf(m.OwnerReferences); {
		case strings.HasPrefix(owner, "MachineSet/"):
			byOwner[owner] = append(byOwner[owner], m)
		case isControlPlane:
			controlPlane = append(controlPlane, m)
		case ownedBy(m.OwnerReferences, "Cluster", c.Name):
			standalone = append(standalone, m)
		}
	}

	var workers replicas
	unwatched := false
	setsOf := map[string]replicas{}
	for i := range s.machineSets {
		ms := &s.machineSets[i]
		if ms.Status.ObservedGeneration < ms.Generation {
			return "MachineSet " + ms.Name + " to observe its generation"
		}
		for _, m := range byOwner["MachineSet/"+ms.Name] {
			if why := outOfSync(ms, m); why != "" {
				return why
			}
		}
		have := reported(ms.Spec.Replicas, ms.Status.Replicas, ms.Status.ReadyReplicas, ms.Status.AvailableReplicas, ms.Status.UpToDateReplicas)
		want := counted(byOwner["MachineSet/"+ms.Name])
		want.desired = have.desired
		if have != want {
			return fmt.Sprintf("MachineSet %s to count its machines (reports %s, has %s)", ms.Name, have, want)
		}
		switch owner := controllerOf(ms.OwnerReferences); {
		case strings.HasPrefix(owner, "MachineDeployment/"):
			md := strings.TrimPrefix(owner, "MachineDeployment/")
			setsOf[md] = setsOf[md].add(have)
		case ownedBy(ms.OwnerReferences, "Cluster", c.Name):
			workers = workers.add(have)
			unwatched = true
		}
	}
	for i := range s.deployments {
		md := &s.deployments[i]
		if md.Status.ObservedGeneration < md.Generation {
			return "MachineDeployment " + md.Name + " to observe its generation"
		}
		have := reported(md.Spec.Replicas, md.Status.Replicas, md.Status.ReadyReplicas, md.Status.AvailableReplicas, md.Status.UpToDateReplicas)
		want := setsOf[md.Name]
		want.desired = have.desired
		if have != want {
			return fmt.Sprintf("MachineDeployment %s to count its machine sets (reports %s, they have %s)", md.Name, have, want)
		}
		workers = workers.add(have)
	}
	// The Cluster's reconciler watches control plane machines and
	// deployments only: a standalone worker's or MachineSet's change shows
	// in the Cluster's counters at its next pass for another reason, which
	// nothing here can bring about. MachinePools are not read here.
	unwatched = unwatched || len(standalone) > 0 || s.machinePools
	if w := c.Status.Workers; !unwatched && (w != nil || workers != (replicas{})) {
		var have replicas
		if w != nil {
			have = reported(w.DesiredReplicas, w.Replicas, w.ReadyReplicas, w.AvailableReplicas, w.UpToDateReplicas)
		}
		if have != workers {
			return fmt.Sprintf("the Cluster to count its workers (reports %s, has %s)", have, workers)
		}
	}

	// Cluster API's MachineHealthCheck reconciler runs at most once every
	// 15 s per object: a new one's first pass only records that it is not
	// paused, and its owner reference to the Cluster (by which clusterctl
	// move takes it along) and its counters come with the next.
	for i := range s.healthChecks {
		mhc := &s.healthChecks[i]
		if mhc.DeletionTimestamp.IsZero() && !annotations.HasPaused(mhc) && mhc.Status.ObservedGeneration < mhc.Generation {
			return "MachineHealthCheck " + mhc.Name + " to observe its generation"
		}
	}

	if kcp := s.controlPlane; kcp != nil && kcp.DeletionTimestamp.IsZero() {
		if kcp.Status.ObservedGeneration < kcp.Generation {
			return "KubeadmControlPlane " + kcp.Name + " to observe its generation"
		}
		have := reported(kcp.Spec.Replicas, kcp.Status.Replicas, kcp.Status.ReadyReplicas, kcp.Status.AvailableReplicas, kcp.Status.UpToDateReplicas)
		want := counted(controlPlane)
		want.desired = have.desired
		if have != want {
			return fmt.Sprintf("KubeadmControlPlane %s to count its machines (reports %s, has %s)", kcp.Name, have, want)
		}
		var cluster replicas
		if cp := c.Status.ControlPlane; cp != nil {
			cluster = reported(cp.DesiredReplicas, cp.Replicas, cp.ReadyReplicas, cp.AvailableReplicas, cp.UpToDateReplicas)
		}
		if cluster != have {
			return fmt.Sprintf("the Cluster to count its control plane (reports %s, it has %s)", cluster, have)
		}
	}
	return ""
}

// outOfSync says what of its MachineSet's template a Machine has not got
// yet, "" when it has it all: the MachineSet reconciler changes these in
// place (labels, annotations, taints and the deletion timeouts), a label
// or a timeout changed on a deployment reaches its machines only then.
// A machine being deleted is left out: it gets the timeouts only.
func outOfSync(ms *clusterv1.MachineSet, m *clusterv1.Machine) string {
	if !m.DeletionTimestamp.IsZero() {
		return ""
	}
	t := ms.Spec.Template
	for k, v := range t.Labels {
		if got, ok := m.Labels[k]; !ok || got != v {
			return fmt.Sprintf("Machine %s to get label %s=%s of MachineSet %s", m.Name, k, v, ms.Name)
		}
	}
	for k, v := range t.Annotations {
		if got, ok := m.Annotations[k]; !ok || got != v {
			return fmt.Sprintf("Machine %s to get annotation %s of MachineSet %s", m.Name, k, ms.Name)
		}
	}
	// Others may own taints of their own on the machine (a map list):
	// each of the template's must be there, in any order.
	for _, want := range t.Spec.Taints {
		if !slices.ContainsFunc(m.Spec.Taints, func(have clusterv1.MachineTaint) bool {
			return have.Key == want.Key && have.Effect == want.Effect && have.Value == want.Value
		}) {
			return fmt.Sprintf("Machine %s to get taint %s of MachineSet %s", m.Name, want.Key, ms.Name)
		}
	}
	for _, d := range []struct {
		name       string
		want, have *int32
	}{
		{"node drain", t.Spec.Deletion.NodeDrainTimeoutSeconds, m.Spec.Deletion.NodeDrainTimeoutSeconds},
		{"volume detach", t.Spec.Deletion.NodeVolumeDetachTimeoutSeconds, m.Spec.Deletion.NodeVolumeDetachTimeoutSeconds},
		{"node deletion", t.Spec.Deletion.NodeDeletionTimeoutSeconds, m.Spec.Deletion.NodeDeletionTimeoutSeconds},
	} {
		if d.want != nil && ptr.Deref(d.have, -1) != *d.want {
			return fmt.Sprintf("Machine %s to get the %s timeout of MachineSet %s", m.Name, d.name, ms.Name)
		}
	}
	return ""
}

// controllerOf names an object's controller owner as Kind/name, or "".
func controllerOf(refs []metav1.OwnerReference) string {
	for _, r := range refs {
		if ptr.Deref(r.Controller, false) {
			return r.Kind + "/" + r.Name
		}
	}
	return ""
}

// ownedBy says whether refs name an owner of kind and name in Cluster
// API's group.
func ownedBy(refs []metav1.OwnerReference, kind, name string) bool {
	for _, r := range refs {
		if r.Kind == kind && r.Name == name && strings.HasPrefix(r.APIVersion, clusterv1.GroupVersion.Group+"/") {
			return true
		}
	}
	return false
}
