package engine

import (
	"context"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	addonsv1 "sigs.k8s.io/cluster-api/api/addons/v1beta2"
	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	bootstrapadmission "sigs.k8s.io/cluster-api/bootstrap/kubeadm/webhooks/admission"
	controlplaneadmission "sigs.k8s.io/cluster-api/controlplane/kubeadm/webhooks/admission"
	coreadmission "sigs.k8s.io/cluster-api/core/webhooks/admission"
)

// Admit does in process what Cluster API's defaulting and validating
// webhooks do in a management cluster that runs them: it defaults obj and
// validates it, as a create when old is nil and as an update otherwise.
// Kinds without webhooks pass unchanged. reader serves the webhooks that
// look up other objects (a Cluster's ClusterClass).
func Admit(ctx context.Context, reader client.Reader, obj, old client.Object) (admission.Warnings, error) {
	w := webhookFor(reader, obj)
	if w == nil {
		return nil, nil
	}
	ctx = withOperation(ctx, old)
	if err := w.defaults(ctx, obj); err != nil {
		return nil, fmt.Errorf("defaulting %T %s: %w", obj, obj.GetName(), err)
	}
	return w.validate(ctx, obj, old)
}

// Validate only validates obj, as the validating webhooks would: as a
// create when old is nil, as an update from old otherwise. For an update
// obj must be the object as stored after the change (a server-side
// dry-run apply gives it), not just the fields being applied.
func Validate(ctx context.Context, reader client.Reader, obj, old client.Object) (admission.Warnings, error) {
	w := webhookFor(reader, obj)
	if w == nil {
		return nil, nil
	}
	if old != nil {
		// Typed reads drop the type meta; the webhooks compare it.
		old.GetObjectKind().SetGroupVersionKind(obj.GetObjectKind().GroupVersionKind())
	}
	return w.validate(withOperation(ctx, old), obj, old)
}

// Default only defaults obj, as the mutating webhooks would.
func Default(ctx context.Context, reader client.Reader, obj client.Object, create bool) error {
	w := webhookFor(reader, obj)
	if w == nil {
		return nil
	}
	var old client.Object
	if !create {
		old = obj
	}
	if _, ok := obj.(*clusterv1.MachineDeployment); ok {
		// On update, CAPI's MachineDeployment defaulter decodes the old
		// object with a decoder only its webhook server sets up; its update
		// path differs only for an unset spec.replicas (kept from the old
		// object), and the provider always sets replicas.
		old = nil
	}
	return w.defaults(withOperation(ctx, old), obj)
}

func withOperation(ctx context.Context, old client.Object) context.Context {
	op := admissionv1.Create
	if old != nil {
		op = admissionv1.Update
	}
	// Some webhooks read the operation from the request in the context.
	return admission.NewContextWithRequest(ctx, admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{Operation: op}})
}

// webhookPair holds one kind's defaulting and validation, type-erased.
type webhookPair struct {
	defaults func(context.Context, client.Object) error
	validate func(ctx context.Context, obj, old client.Object) (admission.Warnings, error)
}

func webhookFor(reader client.Reader, obj client.Object) *webhookPair {
	switch obj.(type) {
	case *clusterv1.Cluster:
		return pair[*clusterv1.Cluster](&coreadmission.Cluster{Client: reader})
	case *clusterv1.Machine:
		return pair[*clusterv1.Machine](&coreadmission.Machine{})
	case *clusterv1.MachineSet:
		return pair[*clusterv1.MachineSet](&coreadmission.MachineSet{})
	case *clusterv1.MachineDeployment:
		return pair[*clusterv1.MachineDeployment](&coreadmission.MachineDeployment{})
	case *clusterv1.MachineHealthCheck:
		return pair[*clusterv1.MachineHealthCheck](&coreadmission.MachineHealthCheck{})
	case *addonsv1.ClusterResourceSet:
		return pair[*addonsv1.ClusterResourceSet](&coreadmission.ClusterResourceSet{})
	case *controlplanev1.KubeadmControlPlane:
		return pair[*controlplanev1.KubeadmControlPlane](&controlplaneadmission.KubeadmControlPlane{})
	case *bootstrapv1.KubeadmConfigTemplate:
		return pair[*bootstrapv1.KubeadmConfigTemplate](&bootstrapadmission.KubeadmConfigTemplate{})
	case *bootstrapv1.KubeadmConfig:
		// Validation only: the webhook defaults nothing.
		return validatorOnly[*bootstrapv1.KubeadmConfig](&bootstrapadmission.KubeadmConfig{})
	}
	return nil
}

type validator[T client.Object] interface {
	ValidateCreate(ctx context.Context, obj T) (admission.Warnings, error)
	ValidateUpdate(ctx context.Context, old, obj T) (admission.Warnings, error)
}

type defaulter[T client.Object] interface {
	validator[T]
	Default(ctx context.Context, obj T) error
}

func pair[T client.Object](w defaulter[T]) *webhookPair {
	p := validatorOnly[T](w)
	p.defaults = func(ctx context.Context, obj client.Object) error { return w.Default(ctx, obj.(T)) }
	return p
}

func validatorOnly[T client.Object](v validator[T]) *webhookPair {
	return &webhookPair{
		defaults: func(context.Context, client.Object) error { return nil },
		validate: func(ctx context.Context, obj, old client.Object) (admission.Warnings, error) {
			if old == nil {
				return v.ValidateCreate(ctx, obj.(T))
			}
			typedOld, ok := old.(T)
			if !ok {
				return nil, fmt.Errorf("old object is %T, not %T", old, obj)
			}
			return v.ValidateUpdate(ctx, typedOld, obj.(T))
		},
	}
}

// admittingClient wraps the manager's client so that objects the
// reconcilers write are defaulted as the webhooks would default them; the
// reconcilers rely on it (a Machine without
// spec.deletion.nodeDeletionTimeoutSeconds would retry node deletion
// forever). Creates are validated as well; server-side applies, the way
// KCP and MachineSets create Machines, are defaulted.
//
// With owns set, writes to objects of clusters it does not accept fail
// with a conflict, which the reconcilers retry later. So do writes to a
// Cluster without the watch label of filter: the reconcilers reach such a
// Cluster through objects that carry the label (a MachineDeployment of a
// cluster applied without infrastructure), but it is not theirs, and a
// finalizer they added would hold its deletion forever.
func admittingClient(c client.WithWatch, owns func(namespace, cluster string) bool, filter string) client.WithWatch {
	// Status patches carry no labels: the stored Cluster's say.
	filtered := func(obj client.Object) bool {
		if obj.GetLabels()[clusterv1.WatchLabel] == filter {
			return true
		}
		stored := &clusterv1.Cluster{}
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(obj), stored); err != nil {
			return true
		}
		return stored.Labels[clusterv1.WatchLabel] == filter
	}
	gate := func(obj client.Object) error {
		if filter != "" && isCluster(obj) && !filtered(obj) {
			return apierrors.NewConflict(schema.GroupResource{Group: clusterv1.GroupVersion.Group, Resource: "clusters"}, obj.GetName(),
				fmt.Errorf("cluster %s/%s is not reconciled here: it lacks the label %s=%s", obj.GetNamespace(), obj.GetName(), clusterv1.WatchLabel, filter))
		}
		if owns == nil {
			return nil
		}
		cluster := clusterOf(obj)
		if cluster == "" || owns(obj.GetNamespace(), cluster) {
			return nil
		}
		return apierrors.NewConflict(schema.GroupResource{Resource: fmt.Sprintf("%T", obj)}, obj.GetName(),
			fmt.Errorf("cluster %s/%s is being applied by another process", obj.GetNamespace(), cluster))
	}
	return interceptor.NewClient(c, interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			if err := gate(obj); err != nil {
				return err
			}
			if _, err := Admit(ctx, c, obj, nil); err != nil {
				return err
			}
			return c.Create(ctx, obj, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			if err := gate(obj); err != nil {
				return err
			}
			return c.Update(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			if err := gate(obj); err != nil {
				return err
			}
			return c.Patch(ctx, obj, patch, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			if err := gate(obj); err != nil {
				return err
			}
			return c.Delete(ctx, obj, opts...)
		},
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			if err := gate(obj); err != nil {
				return err
			}
			return c.SubResource(sub).Update(ctx, obj, opts...)
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			if err := gate(obj); err != nil {
				return err
			}
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
		Apply: func(ctx context.Context, c client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			if u, ok := obj.(unstructuredContent); ok {
				if err := gate(&unstructured.Unstructured{Object: u.UnstructuredContent()}); err != nil {
					return err
				}
			}
			if err := defaultApplyConfiguration(ctx, c.Scheme(), c, obj); err != nil {
				return err
			}
			return c.Apply(ctx, obj, opts...)
		},
	})
}

// clusterOf names the cluster an object belongs to: a Cluster itself, or
// the cluster-name label Cluster API puts on everything else.
func clusterOf(obj client.Object) string {
	if isCluster(obj) {
		return obj.GetName()
	}
	return obj.GetLabels()[clusterv1.ClusterNameLabel]
}

// isCluster says whether obj is a Cluster API Cluster, typed or not.
func isCluster(obj client.Object) bool {
	if _, ok := obj.(*clusterv1.Cluster); ok {
		return true
	}
	u, ok := obj.(*unstructured.Unstructured)
	return ok && u.GetKind() == "Cluster" && u.GroupVersionKind().Group == clusterv1.GroupVersion.Group
}

// unstructuredContent is what controller-runtime's unstructured apply
// configurations expose of their content.
type unstructuredContent interface {
	UnstructuredContent() map[string]any
	SetUnstructuredContent(map[string]any)
}

func defaultApplyConfiguration(ctx context.Context, scheme *runtime.Scheme, reader client.Reader, obj runtime.ApplyConfiguration) error {
	u, ok := obj.(unstructuredContent)
	if !ok {
		return nil
	}
	content := &unstructured.Unstructured{Object: u.UnstructuredContent()}
	typed, err := scheme.New(content.GroupVersionKind())
	if err != nil {
		return nil // not a kind of ours
	}
	o, ok := typed.(client.Object)
	if !ok || webhookFor(reader, o) == nil {
		return nil
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(content.Object, o); err != nil {
		return err
	}
	if err := Default(ctx, reader, o, true); err != nil {
		return fmt.Errorf("defaulting %s %s: %w", content.GetKind(), content.GetName(), err)
	}
	defaulted, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return err
	}
	// As Cluster API's own server-side apply helper does: no status, no
	// creation timestamp.
	delete(defaulted, "status")
	unstructured.RemoveNestedField(defaulted, "metadata", "creationTimestamp")
	u.SetUnstructuredContent(defaulted)
	return nil
}
