package provider

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	addonsv1 "sigs.k8s.io/cluster-api/api/addons/v1beta2"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/terraform-capi/terraform-provider-capi/internal/capiobj"
	"github.com/terraform-capi/terraform-provider-capi/internal/engine"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure"
	"github.com/terraform-capi/terraform-provider-capi/internal/kube"
)

// readClusterObjects reads a Cluster and the objects of this provider it
// references. A missing Cluster is returned as kube.IsNotFound; a missing
// referenced object is left nil, which shows as drift.
func readClusterObjects(ctx context.Context, cl client.Reader, key client.ObjectKey) (capiobj.ClusterObjects, error) {
	objs := capiobj.ClusterObjects{Cluster: &clusterv1.Cluster{}}
	if err := cl.Get(ctx, key, objs.Cluster); err != nil {
		return objs, err
	}
	c := objs.Cluster
	cloud := cloudOfCluster(c)
	if cloud != nil {
		objs.Cloud = cloud
		a := cloud.Kinds().NewCluster()
		if err := get(ctx, cl, client.ObjectKey{Namespace: c.Namespace, Name: c.Spec.InfrastructureRef.Name}, a); err != nil {
			return objs, err
		} else if a.GetName() != "" {
			objs.Infrastructure = a
		}
	}
	if ref := c.Spec.ControlPlaneRef; ref.Kind == "KubeadmControlPlane" && ref.APIGroup == controlplanev1.GroupVersion.Group {
		kcp := &controlplanev1.KubeadmControlPlane{}
		if err := get(ctx, cl, client.ObjectKey{Namespace: c.Namespace, Name: ref.Name}, kcp); err != nil {
			return objs, err
		} else if kcp.Name != "" {
			objs.ControlPlane = kcp
			tref := kcp.Spec.MachineTemplate.Spec.InfrastructureRef
			if cloud != nil && tref.APIGroup == cloud.Kinds().Group && tref.Kind == cloud.Kinds().MachineTemplate {
				t := cloud.Kinds().NewMachineTemplate()
				if err := get(ctx, cl, client.ObjectKey{Namespace: c.Namespace, Name: tref.Name}, t); err != nil {
					return objs, err
				} else if t.GetName() != "" {
					objs.ControlPlaneTemplate = t
				}
			}
		}
	}
	addons, err := readAddons(ctx, cl, c.Namespace, c.Name)
	objs.Addons = addons
	return objs, err
}

// readAddons lists a cluster's add-ons: its ClusterResourceSets made by
// this provider, each with its ConfigMap (nil when gone).
func readAddons(ctx context.Context, cl client.Reader, namespace, cluster string) ([]capiobj.Addon, error) {
	var sets addonsv1.ClusterResourceSetList
	if err := cl.List(ctx, &sets, client.InNamespace(namespace),
		client.MatchingLabels{clusterv1.ClusterNameLabel: cluster}, client.HasLabels{capiobj.AddonLabel}); err != nil {
		if kube.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	var addons []capiobj.Addon
	for i := range sets.Items {
		a := capiobj.Addon{ResourceSet: &sets.Items[i]}
		cm := &corev1.ConfigMap{}
		if err := get(ctx, cl, client.ObjectKey{Namespace: namespace, Name: a.ResourceSet.Name}, cm); err != nil {
			return nil, err
		} else if cm.Name != "" {
			a.ConfigMap = cm
		}
		addons = append(addons, a)
	}
	return addons, nil
}

// deleteAddons deletes the cluster's add-ons whose names keep does not
// hold, and waits until their ClusterResourceSets are gone (their finalizer
// runs in the engine). What they applied stays in the workload cluster, as
// with Cluster API.
func deleteAddons(ctx context.Context, cl client.WithWatch, namespace, cluster string, keep []capiobj.Addon) error {
	kept := map[string]bool{}
	for _, a := range keep {
		kept[a.ResourceSet.Name] = true
	}
	addons, err := readAddons(ctx, cl, namespace, cluster)
	if err != nil {
		return err
	}
	for _, a := range addons {
		if kept[a.ResourceSet.Name] {
			continue
		}
		if err := cl.Delete(ctx, a.ResourceSet); err != nil && !kube.IsNotFound(err) {
			return err
		}
		if err := kube.WaitForDeletion(ctx, cl, a.ResourceSet, &addonsv1.ClusterResourceSetList{}); err != nil {
			return err
		}
		if a.ConfigMap != nil {
			if err := cl.Delete(ctx, a.ConfigMap); err != nil && !kube.IsNotFound(err) {
				return err
			}
		}
	}
	return nil
}

// get reads obj, leaving it empty when it does not exist.
func get(ctx context.Context, cl client.Reader, key client.ObjectKey, obj client.Object) error {
	if err := cl.Get(ctx, key, obj); err != nil && !kube.IsNotFound(err) {
		return err
	}
	return nil
}

// admitAndApply validates the objects as Cluster API's webhooks would and
// applies them, the referenced ones before the Cluster.
func admitAndApply(ctx context.Context, k *kube.Client, cl client.Client, objs capiobj.ClusterObjects) error {
	return applyAll(ctx, k, cl, clusterObjectsInOrder(objs), objs.Managed())
}

// clusterObjectsInOrder lists a cluster's objects, the referenced ones
// before the Cluster.
func clusterObjectsInOrder(objs capiobj.ClusterObjects) []client.Object {
	ordered := []client.Object{}
	if objs.Infrastructure != nil {
		ordered = append(ordered, objs.Infrastructure)
	}
	if objs.ControlPlaneTemplate != nil {
		ordered = append(ordered, objs.ControlPlaneTemplate)
	}
	if objs.ControlPlane != nil {
		ordered = append(ordered, objs.ControlPlane)
	}
	for _, a := range objs.Addons {
		ordered = append(ordered, a.ConfigMap, a.ResourceSet)
	}
	return append(ordered, objs.Cluster)
}

// applyAll applies objects in order. With admit, each is first defaulted
// and validated as Cluster API's webhooks would in a management cluster
// that runs them.
func applyAll(ctx context.Context, k *kube.Client, cl client.Client, ordered []client.Object, admit bool) error {
	if admit {
		if err := admitAll(ctx, k, cl, ordered); err != nil {
			return err
		}
	}
	for _, obj := range ordered {
		if err := k.Apply(ctx, obj); err != nil {
			return fmt.Errorf("applying %s %s: %w", kindOf(obj), obj.GetName(), err)
		}
	}
	return nil
}

// admitAll defaults and validates objects as Cluster API's webhooks would
// in a management cluster that runs them: the applied object is defaulted
// (so the defaults are stored, and owned by the applier), and the result
// of applying it (a dry run, for an object that exists) is validated.
// Nothing is written, so plans run it too.
func admitAll(ctx context.Context, k *kube.Client, cl client.Client, ordered []client.Object) error {
	for _, obj := range ordered {
		old, err := existing(ctx, cl, obj)
		if err != nil {
			return err
		}
		if err := engine.Default(ctx, cl, obj, old == nil); err != nil {
			return err
		}
		result := obj
		if old != nil {
			if result, err = k.DryRunApply(ctx, obj); err != nil {
				return fmt.Errorf("applying %s %s: %w", kindOf(obj), obj.GetName(), err)
			}
		}
		if _, err := engine.Validate(ctx, cl, result, old); err != nil {
			return err
		}
	}
	return nil
}

// admitAtPlan defaults and validates the objects of a planned create as
// Cluster API's admission webhooks would, so that what they refuse is a
// plan-time error. Nothing is written and nothing but reads reach the
// management cluster (a plan may run with read-only credentials); updates
// are admitted at apply, on the result of a dry-run apply. Only the
// webhooks' own refusals fail the plan: anything else (the management
// cluster unreachable, permissions) is logged and left to the apply.
func admitAtPlan(ctx context.Context, data *providerData, kind, id string, ordered []client.Object, diags *diag.Diagnostics) {
	if data == nil || diags.HasError() {
		return
	}
	cl, err := data.kube.Reader()
	if err != nil {
		tflog.Warn(ctx, "cannot read the management cluster at plan time; Cluster API's admission runs at apply", map[string]any{"error": err.Error()})
		return
	}
	for _, obj := range ordered {
		_, err := engine.Admit(ctx, cl, obj, nil)
		if err == nil {
			continue
		}
		if isAdmissionRefusal(err) {
			diags.AddError("Cluster API refuses "+kind+" "+id, "As Cluster API's admission webhooks would: "+err.Error())
		} else {
			tflog.Warn(ctx, "Cluster API's admission could not run at plan time; it runs at apply", map[string]any{"error": err.Error()})
		}
		return
	}
}

// isAdmissionRefusal tells a webhook's refusal (invalid, a bad request, a
// rule it forbids) from a failure to ask (the network, permissions: the
// API server's Forbidden names the resource it refuses).
func isAdmissionRefusal(err error) bool {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		switch s := status.Status(); s.Reason {
		case metav1.StatusReasonInvalid, metav1.StatusReasonBadRequest:
			return true
		case metav1.StatusReasonForbidden:
			return s.Details == nil || s.Details.Kind == ""
		}
		return false
	}
	var netErr net.Error
	return !errors.As(err, &netErr)
}

// existing returns the stored version of obj, or nil.
func existing(ctx context.Context, cl client.Client, obj client.Object) (client.Object, error) {
	old := obj.DeepCopyObject().(client.Object)
	if err := cl.Get(ctx, client.ObjectKeyFromObject(obj), old); err != nil {
		if kube.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return old, nil
}

// deleteStaleTemplates removes the cluster's control plane templates (of
// its cloud, none when nil) that the KubeadmControlPlane no longer
// references.
func deleteStaleTemplates(ctx context.Context, cl client.Client, cloud infrastructure.Infrastructure, cluster *clusterv1.Cluster, keep string) error {
	if cloud == nil {
		return nil
	}
	templates, err := listMachineTemplates(ctx, cl, cloud, cluster.Namespace,
		client.MatchingLabels{clusterv1.ClusterNameLabel: cluster.Name, capiobj.RoleLabel: "control-plane"})
	if err != nil {
		return err
	}
	for _, t := range templates {
		if t.GetName() != keep {
			if err := cl.Delete(ctx, t); err != nil && !kube.IsNotFound(err) {
				return err
			}
		}
	}
	return nil
}

// listMachineTemplates lists a cloud's machine templates; a kind the
// management cluster does not serve yet lists none.
func listMachineTemplates(ctx context.Context, cl client.Reader, cloud infrastructure.Infrastructure, namespace string, selector client.MatchingLabels) ([]client.Object, error) {
	list := cloud.Kinds().NewMachineTemplateList()
	if err := cl.List(ctx, list, client.InNamespace(namespace), selector); err != nil {
		if kube.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	out := make([]client.Object, 0, len(items))
	for _, item := range items {
		if obj, ok := item.(client.Object); ok {
			out = append(out, obj)
		}
	}
	return out, nil
}

func kindOf(obj client.Object) string { return obj.GetObjectKind().GroupVersionKind().Kind }
