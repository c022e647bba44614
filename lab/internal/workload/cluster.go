package workload

import (
	"context"
	"crypto/subtle"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/yaml"

	cloudv1 "sigs.k8s.io/cluster-api/test/infrastructure/inmemory/pkg/cloud/api/v1alpha1"
	inmemoryruntime "sigs.k8s.io/cluster-api/test/infrastructure/inmemory/pkg/runtime"
)

const (
	controlPlaneRole = "node-role.kubernetes.io/control-plane"
	kubeSystem       = metav1.NamespaceSystem
)

func createIfMissing(ctx context.Context, c inmemoryruntime.Client, obj client.Object) error {
	if err := c.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create %T %s: %w", obj, obj.GetName(), err)
	}
	return nil
}

// list fills a typed list through an unstructured one. Objects written
// through the simulated API server (a ClusterResourceSet's, a node Cluster
// API patched) stay unstructured in the in-memory store, which a typed
// list cannot hold; an unstructured list converts every item.
func list(ctx context.Context, c inmemoryruntime.Client, into client.ObjectList, opts ...client.ListOption) error {
	gvk, err := apiutil.GVKForObject(into, scheme)
	if err != nil {
		return err
	}
	u := &unstructured.UnstructuredList{}
	u.SetGroupVersionKind(gvk)
	if err := c.List(ctx, u, opts...); err != nil {
		return err
	}
	return runtime.DefaultUnstructuredConverter.FromUnstructured(u.UnstructuredContent(), into)
}

// uploadConfig does what kubeadm init's upload-config and bootstrap-token
// phases leave in a new cluster: namespaces, the kubeadm-config
// ConfigMap with the ClusterConfiguration, the RBAC that lets joining
// nodes read it, and the kube-proxy and CoreDNS add-ons (CoreDNS's pods
// Pending, as no node is ready yet).
func (c *cluster) uploadConfig(ctx context.Context, b *Bootstrap) error {
	for _, ns := range []string{metav1.NamespaceDefault, metav1.NamespacePublic, kubeSystem, corev1.NamespaceNodeLease} {
		if err := createIfMissing(ctx, c.client, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name: ns, Labels: map[string]string{"kubernetes.io/metadata.name": ns}}}); err != nil {
			return err
		}
	}
	objs := []client.Object{
		&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: kubeSystem, Name: "kubeadm-config"},
			Data:       map[string]string{"ClusterConfiguration": b.ClusterConfiguration},
		},
		&rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: "kubeadm:get-nodes"},
			Rules:      []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"nodes"}}},
		},
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "kubeadm:get-nodes"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "kubeadm:get-nodes"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, Name: "system:bootstrappers:kubeadm:default-node-token"}},
		},
		&appsv1.DaemonSet{
			ObjectMeta: metav1.ObjectMeta{Namespace: kubeSystem, Name: "kube-proxy", Labels: map[string]string{"k8s-app": "kube-proxy"}},
			Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{
				{Name: "kube-proxy", Image: "registry.k8s.io/kube-proxy:" + strings.ReplaceAll(b.KubernetesVersion, "+", "_")}}}}},
		},
		&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: kubeSystem, Name: "coredns"},
			Data:       map[string]string{"Corefile": ".:53 {\n    errors\n    health\n    kubernetes cluster.local in-addr.arpa ip6.arpa\n    forward . /etc/resolv.conf\n    cache 30\n}\n"},
		},
	}
	objs = append(objs, coreDNS()...)
	for _, o := range objs {
		if err := createIfMissing(ctx, c.client, o); err != nil {
			return err
		}
	}
	return nil
}

// checkToken authenticates a join as the API server does a bootstrap
// token: its Secret in kube-system, created by the bootstrap provider.
func (c *cluster) checkToken(ctx context.Context, token string) error {
	id, secret, ok := strings.Cut(token, ".")
	if !ok {
		return fmt.Errorf("malformed bootstrap token")
	}
	var s corev1.Secret
	if err := c.client.Get(ctx, client.ObjectKey{Namespace: kubeSystem, Name: "bootstrap-token-" + id}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("%w: bootstrap token %s unknown to the cluster", errRetry, id)
		}
		return err
	}
	if subtle.ConstantTimeCompare(s.Data["token-secret"], []byte(secret)) != 1 {
		return fmt.Errorf("bootstrap token %s: wrong secret", id)
	}
	if exp := string(s.Data["expiration"]); exp != "" {
		if t, err := time.Parse(time.RFC3339, exp); err == nil && time.Now().After(t) {
			return fmt.Errorf("bootstrap token %s expired at %s", id, exp)
		}
	}
	return nil
}

// kubernetesVersion is the cluster's version, as a joining kubeadm reads
// it from kubeadm-config.
func (c *cluster) kubernetesVersion(ctx context.Context) (string, error) {
	var cm corev1.ConfigMap
	if err := c.client.Get(ctx, client.ObjectKey{Namespace: kubeSystem, Name: "kubeadm-config"}, &cm); err != nil {
		return "", err
	}
	var cfg struct {
		KubernetesVersion string `json:"kubernetesVersion"`
	}
	if err := yaml.Unmarshal([]byte(cm.Data["ClusterConfiguration"]), &cfg); err != nil {
		return "", fmt.Errorf("kubeadm-config: %w", err)
	}
	return cfg.KubernetesVersion, nil
}

// addEtcdMember adds the node's etcd member; the first one leads.
func (c *cluster) addEtcdMember(ctx context.Context, nodeName string) error {
	var pods corev1.PodList
	if err := list(ctx, c.client, &pods, client.InNamespace(kubeSystem), client.MatchingLabels{"component": "etcd"}); err != nil {
		return err
	}
	clusterID, members := "", map[string]bool{}
	for _, p := range pods.Items {
		if _, removed := p.Annotations[cloudv1.EtcdMemberRemoved]; removed {
			continue
		}
		clusterID = p.Annotations[cloudv1.EtcdClusterIDAnnotationName]
		members[p.Annotations[cloudv1.EtcdMemberIDAnnotationName]] = true
	}
	if clusterID == "" {
		clusterID = strconv.FormatUint(uint64(rand.Uint32N(1<<31)+1), 10)
	}
	memberID := ""
	for memberID == "" || members[memberID] {
		memberID = strconv.FormatUint(uint64(rand.Uint32N(1<<31)+1), 10)
	}
	pod := staticPod("etcd", nodeName)
	pod.Annotations = map[string]string{
		cloudv1.EtcdClusterIDAnnotationName: clusterID,
		cloudv1.EtcdMemberIDAnnotationName:  memberID,
	}
	if len(members) == 0 {
		pod.Annotations[cloudv1.EtcdLeaderFromAnnotationName] = time.Now().Format(time.RFC3339)
	}
	if err := createIfMissing(ctx, c.client, pod); err != nil {
		return err
	}
	return c.server.addEtcdMember(pod.Name)
}

var controlPlaneComponents = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"}

func (c *cluster) addStaticPods(ctx context.Context, nodeName string) error {
	for _, component := range controlPlaneComponents {
		if err := createIfMissing(ctx, c.client, staticPod(component, nodeName)); err != nil {
			return err
		}
	}
	return nil
}

// staticPod is a running, ready control plane pod as the kubelet reports
// a static pod: <component>-<node> in kube-system.
func staticPod(component, nodeName string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: kubeSystem, Name: component + "-" + nodeName,
			Labels: map[string]string{"component": component, "tier": "control-plane"},
		},
		Spec: corev1.PodSpec{NodeName: nodeName, Containers: []corev1.Container{{Name: component, Image: "registry.k8s.io/" + component}}},
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		},
	}
}

// stopControlPlane is a control plane instance gone: its etcd member
// leaves the member list the API server serves, and its static pods
// their node (the node itself stays, see InstanceTerminated).
func (c *cluster) stopControlPlane(ctx context.Context, name string) error {
	c.server.removeEtcdMember("etcd-" + name)
	for _, component := range append([]string{"etcd"}, controlPlaneComponents...) {
		if err := c.client.Delete(ctx, staticPod(component, name)); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}
