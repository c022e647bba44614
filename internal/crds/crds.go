// Package crds holds Cluster API's CustomResourceDefinitions (generated
// from the pinned Cluster API module by ./gen) and installs them in the
// management cluster, with those of the clouds (each cloud embeds its own).
package crds

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sort"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

//go:embed manifests/*.yaml
var manifests embed.FS

// DigestAnnotation records which manifest a CRD was applied from, so an
// installer that finds the same digest can skip the apply.
const DigestAnnotation = "terraform-capi.io/manifest-digest"

// ClusterctlLabel is on every CRD that Install applies, as clusterctl puts
// it on the components of the providers it installs: `clusterctl move`
// moves the objects of the kinds whose CRDs carry it, and `clusterctl
// delete` finds a provider's CRDs by it and their cluster.x-k8s.io/provider
// label. Its value is empty, as clusterctl's.
const ClusterctlLabel = "clusterctl.cluster.x-k8s.io"

var crdResource = apiextensionsv1.SchemeGroupVersion.WithResource("customresourcedefinitions")

// Manifest is one embedded CRD.
type Manifest struct {
	Name   string
	Digest string
	Object *unstructured.Unstructured
}

// Manifests returns Cluster API's CRDs and those of each of clouds (YAML
// files at the root of each), sorted by name.
func Manifests(clouds ...fs.FS) ([]Manifest, error) {
	core, err := fs.Sub(manifests, "manifests")
	if err != nil {
		return nil, err
	}
	var out []Manifest
	for _, dir := range append([]fs.FS{core}, clouds...) {
		m, err := readManifests(dir)
		if err != nil {
			return nil, err
		}
		out = append(out, m...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func readManifests(dir fs.FS) ([]Manifest, error) {
	files, err := fs.Glob(dir, "*.yaml")
	if err != nil {
		return nil, err
	}
	out := make([]Manifest, 0, len(files))
	for _, f := range files {
		data, err := fs.ReadFile(dir, f)
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(data, &u.Object); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[ClusterctlLabel] = ""
		u.SetLabels(labels)
		// The digest is of what is applied: the manifest with the labels
		// added here (JSON's keys are sorted), before its own annotation.
		applied, err := u.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		sum := sha256.Sum256(applied)
		digest := hex.EncodeToString(sum[:12])
		annotations := u.GetAnnotations()
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[DigestAnnotation] = digest
		u.SetAnnotations(annotations)
		out = append(out, Manifest{Name: u.GetName(), Digest: digest, Object: u})
	}
	return out, nil
}

// Install lists the CRDs' metadata, applies (creating) those not current
// and reads them until they are established.
//
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;list;watch;create;update;patch

// Install makes the cluster's CRDs match the embedded manifests and those
// of clouds. It lists
// the CRDs' metadata once and applies (server-side, as fieldManager) only
// those missing or applied from another manifest, then waits until those
// are established. When everything is current it costs one LIST.
func Install(ctx context.Context, cfg *rest.Config, fieldManager string, clouds ...fs.FS) error {
	want, err := Manifests(clouds...)
	if err != nil {
		return err
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		return err
	}
	existing, err := meta.Resource(crdResource).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing CRDs: %w", err)
	}
	current := map[string]string{}
	for _, item := range existing.Items {
		current[item.Name] = item.Annotations[DigestAnnotation]
	}

	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	var applied []string
	for _, m := range want {
		if current[m.Name] == m.Digest {
			continue
		}
		_, err := dyn.Resource(crdResource).Apply(ctx, m.Name, m.Object, metav1.ApplyOptions{FieldManager: fieldManager, Force: true})
		if err != nil {
			return fmt.Errorf("applying CRD %s: %w", m.Name, err)
		}
		applied = append(applied, m.Name)
	}
	for _, name := range applied {
		if err := WaitEstablished(ctx, dyn, name); err != nil {
			return err
		}
	}
	return nil
}

// WaitEstablished waits until the CRD name is established (its kinds are
// served). It polls briefly: a CRD is established within a second of its
// creation, well before a watch would pay off.
func WaitEstablished(ctx context.Context, dyn dynamic.Interface, name string) error {
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		u, err := dyn.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &crd); err != nil {
			return false, err
		}
		for _, c := range crd.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("CRD %s not established: %w", name, err)
	}
	return nil
}
