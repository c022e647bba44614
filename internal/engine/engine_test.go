package engine

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/terraform-capi/terraform-provider-capi/internal/crds"
	"github.com/terraform-capi/terraform-provider-capi/internal/labtest"
)

var testLab *labtest.Lab

func TestMain(m *testing.M) {
	os.Exit(labtest.Main(m, func(l *labtest.Lab) { testLab = l }))
}

// testInfra is a minimal infrastructure provider for engine tests: its
// clusters and machines are provisioned as soon as they are seen.
type testInfra struct{}

const testInfraGroup = "infrastructure.test.terraform-capi.io"

var testInfraKinds = []string{"TestCluster", "TestMachine", "TestMachineTemplate"}

func testInfraCRD(kind string) *apiextensionsv1.CustomResourceDefinition {
	plural := strings.ToLower(kind) + "s"
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: plural + "." + testInfraGroup, Labels: map[string]string{"cluster.x-k8s.io/v1beta2": "v1alpha1"}},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: testInfraGroup, Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: kind, ListKind: kind + "List", Plural: plural, Singular: strings.ToLower(kind)},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1alpha1", Served: true, Storage: true,
				Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: ptr.To(true),
				}},
			}},
		},
	}
}

func (testInfra) AddToScheme(*runtime.Scheme) error { return nil }

func (testInfra) SetupWithManager(_ context.Context, mgr ctrl.Manager, deps Dependencies) error {
	for _, kind := range []string{"TestCluster", "TestMachine"} {
		kind := kind
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(schema.GroupVersionKind{Group: testInfraGroup, Version: "v1alpha1", Kind: kind})
		err := ctrl.NewControllerManagedBy(mgr).Named(strings.ToLower(kind) + "-" + deps.WatchFilterValue).For(u).
			Complete(reconcile.Func(func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
				obj := u.DeepCopy()
				if err := mgr.GetClient().Get(ctx, req.NamespacedName, obj); err != nil {
					return reconcile.Result{}, client.IgnoreNotFound(err)
				}
				if !obj.GetDeletionTimestamp().IsZero() {
					return reconcile.Result{}, nil
				}
				base := obj.DeepCopy()
				if kind == "TestCluster" {
					// A port nothing listens on: the workload cluster is never reachable here.
					_ = unstructured.SetNestedMap(obj.Object, map[string]any{"host": "127.0.0.1", "port": int64(1)}, "spec", "controlPlaneEndpoint")
				} else {
					_ = unstructured.SetNestedField(obj.Object, "test:///"+obj.GetName(), "spec", "providerID")
				}
				if err := mgr.GetClient().Patch(ctx, obj, client.MergeFrom(base)); err != nil {
					return reconcile.Result{}, err
				}
				base = obj.DeepCopy()
				_ = unstructured.SetNestedField(obj.Object, true, "status", "initialization", "provisioned")
				return reconcile.Result{}, mgr.GetClient().Status().Patch(ctx, obj, client.MergeFrom(base))
			}))
		if err != nil {
			return err
		}
	}
	return nil
}

// installTestInfraCRDs creates the test infrastructure's CRDs and waits
// until they are established.
func installTestInfraCRDs(t *testing.T, c client.Client) {
	t.Helper()
	ctx := context.Background()
	for _, kind := range testInfraKinds {
		crd := testInfraCRD(kind)
		if err := c.Create(ctx, crd); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	eventually(t, "test CRDs established", 30*time.Second, func() (bool, error) {
		for _, kind := range testInfraKinds {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := c.Get(ctx, client.ObjectKey{Name: strings.ToLower(kind) + "s." + testInfraGroup}, crd); err != nil {
				return false, err
			}
			established := false
			for _, cond := range crd.Status.Conditions {
				established = established || (cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue)
			}
			if !established {
				return false, nil
			}
		}
		return true, nil
	})

}

func labConfig(t *testing.T) *rest.Config {
	t.Helper()
	if testLab == nil {
		t.Skip("needs the lab: TF_ACC=1 (make testacc)")
	}
	cfg, err := testLab.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func eventually(t *testing.T, what string, timeout time.Duration, cond func() (bool, error)) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		return cond()
	})
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// The embedded reconcilers take a Cluster with a kubeadm control plane from
// nothing to a provisioned control plane Machine with kubeadm-init
// bootstrap data, and delete it all again.
func TestAccEngineProvisionsAndDeletesAControlPlane(t *testing.T) {
	cfg := labConfig(t)
	ctx := context.Background()
	if err := crds.Install(ctx, cfg, "engine-test"); err != nil {
		t.Fatal(err)
	}
	scheme, err := Scheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	installTestInfraCRDs(t, c)

	start := time.Now()
	e, err := Start(ctx, Options{Config: cfg, Providers: []Provider{testInfra{}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop() })
	t.Logf("engine started and synced in %s", time.Since(start).Round(time.Millisecond))

	name := fmt.Sprintf("engine-%d", time.Now().UnixNano()%100000)
	labels := map[string]string{clusterv1.WatchLabel: WatchFilterValue}
	infraCluster := &unstructured.Unstructured{}
	infraCluster.SetGroupVersionKind(schema.GroupVersionKind{Group: testInfraGroup, Version: "v1alpha1", Kind: "TestCluster"})
	infraCluster.SetNamespace("default")
	infraCluster.SetName(name)
	infraCluster.SetLabels(labels)
	template := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{}}}}}
	template.SetGroupVersionKind(schema.GroupVersionKind{Group: testInfraGroup, Version: "v1alpha1", Kind: "TestMachineTemplate"})
	template.SetNamespace("default")
	template.SetName(name + "-cp")
	template.SetLabels(labels)

	kcp := &controlplanev1.KubeadmControlPlane{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name + "-cp", Labels: labels}}
	kcp.Spec.Replicas = ptr.To[int32](1)
	kcp.Spec.Version = "v1.36.0"
	kcp.Spec.MachineTemplate.ObjectMeta.Labels = labels
	kcp.Spec.MachineTemplate.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: testInfraGroup, Kind: "TestMachineTemplate", Name: template.GetName()}

	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: labels}}
	cluster.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: testInfraGroup, Kind: "TestCluster", Name: name}
	cluster.Spec.ControlPlaneRef = clusterv1.ContractVersionedObjectReference{APIGroup: controlplanev1.GroupVersion.Group, Kind: "KubeadmControlPlane", Name: kcp.Name}

	for _, obj := range []client.Object{infraCluster, template, kcp, cluster} {
		if _, err := Admit(ctx, c, obj, nil); err != nil {
			t.Fatalf("admitting %s: %v", obj.GetName(), err)
		}
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}

	var machine clusterv1.Machine
	eventually(t, "a provisioned control plane Machine", 90*time.Second, func() (bool, error) {
		var machines clusterv1.MachineList
		if err := c.List(ctx, &machines, client.InNamespace("default"), client.MatchingLabels{clusterv1.ClusterNameLabel: name}); err != nil {
			return false, err
		}
		if len(machines.Items) != 1 {
			return false, nil
		}
		machine = machines.Items[0]
		return machine.Status.Phase == string(clusterv1.MachinePhaseProvisioned) && machine.Spec.Bootstrap.DataSecretName != nil, nil
	})
	t.Logf("control plane Machine %s provisioned %s after the engine started", machine.Name, time.Since(start).Round(time.Millisecond))

	// Created by KCP through the engine's client, so defaulted as by the webhook.
	if machine.Spec.Deletion.NodeDeletionTimeoutSeconds == nil {
		t.Error("the Machine KCP created lacks spec.deletion.nodeDeletionTimeoutSeconds: the engine's client did not default it")
	}
	if machine.Spec.ProviderID != "test:///"+machine.Spec.InfrastructureRef.Name {
		t.Errorf("providerID = %q", machine.Spec.ProviderID)
	}
	dataSecret := ptr.Deref(machine.Spec.Bootstrap.DataSecretName, "")
	var data corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: dataSecret}, &data); err != nil {
		t.Fatalf("bootstrap data secret %q: %v", dataSecret, err)
	}
	if !strings.Contains(string(data.Data["value"]), "kubeadm init") {
		t.Errorf("bootstrap data is not a kubeadm init cloud-config:\n%.400s", data.Data["value"])
	}
	var kubeadmConfig bootstrapv1.KubeadmConfig
	if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: machine.Spec.Bootstrap.ConfigRef.Name}, &kubeadmConfig); err != nil {
		t.Fatal(err)
	}
	if !ptr.Deref(kubeadmConfig.Status.Initialization.DataSecretCreated, false) {
		t.Error("KubeadmConfig does not report its data secret")
	}
	eventually(t, "Cluster provisioned", 30*time.Second, func() (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(cluster), cluster); err != nil {
			return false, err
		}
		return cluster.Status.Phase == string(clusterv1.ClusterPhaseProvisioned), nil
	})

	// Delete: the reconcilers run the finalizers, in Cluster API's order.
	if err := c.Delete(ctx, cluster); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Cluster and Machines deleted", 90*time.Second, func() (bool, error) {
		var machines clusterv1.MachineList
		if err := c.List(ctx, &machines, client.InNamespace("default"), client.MatchingLabels{clusterv1.ClusterNameLabel: name}); err != nil {
			return false, err
		}
		err := c.Get(ctx, client.ObjectKeyFromObject(cluster), &clusterv1.Cluster{})
		return len(machines.Items) == 0 && apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
}

// Objects without this provider's watch-filter label are left alone, and so
// are clusters the engine does not own (another apply holds their Lease).
func TestAccEngineIgnoresOtherClusters(t *testing.T) {
	cfg := labConfig(t)
	ctx := context.Background()
	if err := crds.Install(ctx, cfg, "engine-test"); err != nil {
		t.Fatal(err)
	}
	scheme, _ := Scheme()
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	installTestInfraCRDs(t, c)
	e, err := Start(ctx, Options{Config: cfg, WatchFilterValue: "other-engine",
		Owns: func(_, cluster string) bool { return cluster != "filter-not-owned" }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop() })

	mine := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "filter-mine", Labels: map[string]string{clusterv1.WatchLabel: "other-engine"}}}
	theirs := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "filter-theirs"}}
	notOwned := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "filter-not-owned", Labels: map[string]string{clusterv1.WatchLabel: "other-engine"}}}
	for _, cl := range []*clusterv1.Cluster{mine, theirs, notOwned} {
		cl.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: testInfraGroup, Kind: "TestCluster", Name: cl.Name}
		if err := c.Create(ctx, cl); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = c.Delete(context.Background(), cl)
		})
	}
	// The Cluster reconciler adds its finalizer to what it reconciles.
	eventually(t, "finalizer on the Cluster with the label", 30*time.Second, func() (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(mine), mine); err != nil {
			return false, err
		}
		return len(mine.Finalizers) > 0, nil
	})
	if err := c.Get(ctx, client.ObjectKeyFromObject(theirs), theirs); err != nil {
		t.Fatal(err)
	}
	if len(theirs.Finalizers) != 0 || len(theirs.Status.Conditions) != 0 {
		t.Errorf("a Cluster without the label was reconciled: finalizers %v, %d conditions", theirs.Finalizers, len(theirs.Status.Conditions))
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(notOwned), notOwned); err != nil {
		t.Fatal(err)
	}
	if len(notOwned.Finalizers) != 0 || len(notOwned.Status.Conditions) != 0 {
		t.Errorf("a Cluster the engine does not own was written: finalizers %v, %d conditions", notOwned.Finalizers, len(notOwned.Status.Conditions))
	}
	// A Cluster without the label that a labelled MachineDeployment names
	// (a cluster applied without infrastructure): the reconcilers reach it
	// through the deployment, and still add no finalizer that nobody would
	// remove at its delete.
	reached := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "filter-reached"}}
	reached.Spec.ControlPlaneEndpoint = clusterv1.APIEndpoint{Host: "api.example.com", Port: 6443}
	if err := c.Create(ctx, reached); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), reached) })
	md := &clusterv1.MachineDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "filter-reached-md",
		Labels: map[string]string{clusterv1.WatchLabel: "other-engine", clusterv1.ClusterNameLabel: reached.Name}}}
	md.Spec.ClusterName = reached.Name
	md.Spec.Replicas = ptr.To[int32](0)
	md.Spec.Selector.MatchLabels = map[string]string{"md": md.Name}
	md.Spec.Template.Labels = map[string]string{"md": md.Name}
	md.Spec.Template.Spec.ClusterName = reached.Name
	md.Spec.Template.Spec.Bootstrap.DataSecretName = ptr.To("none")
	md.Spec.Template.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: testInfraGroup, Kind: "TestMachineTemplate", Name: "none"}
	if err := c.Create(ctx, md); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), md) })
	// The deployment's reconciler has seen it once it carries its finalizer.
	eventually(t, "the MachineDeployment reconciled", 30*time.Second, func() (bool, error) {
		err := c.Get(ctx, client.ObjectKeyFromObject(md), md)
		return len(md.Finalizers) > 0 || md.Status.ObservedGeneration > 0, err
	})
	time.Sleep(3 * time.Second)
	if err := c.Get(ctx, client.ObjectKeyFromObject(reached), reached); err != nil {
		t.Fatal(err)
	}
	if len(reached.Finalizers) != 0 {
		t.Errorf("a Cluster without the label got finalizers %v through its MachineDeployment", reached.Finalizers)
	}
	// Let the engine remove its finalizer before the cleanup deletes.
	if err := c.Delete(ctx, mine); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Cluster with the label deleted", 30*time.Second, func() (bool, error) {
		err := c.Get(ctx, client.ObjectKeyFromObject(mine), &clusterv1.Cluster{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
}
