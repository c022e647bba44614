package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	addonsv1 "sigs.k8s.io/cluster-api/api/addons/v1beta2"
	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/terraform-capi/terraform-provider-capi/internal/crds"
	"github.com/terraform-capi/terraform-provider-capi/internal/identity"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/registry"
)

// FieldManager owns every field the provider applies.
const FieldManager = identity.FieldManager

// Scheme knows every kind the provider reads or writes.
var Scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, clusterv1.AddToScheme, addonsv1.AddToScheme, bootstrapv1.AddToScheme, controlplanev1.AddToScheme, registry.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// Client is the provider's connection to the management cluster. It is
// created at configure time without touching the network; the first call
// that needs the cluster checks the connection, and the first write
// installs the CRDs. Both happen once per provider process.
type Client struct {
	source string
	rest   *rest.Config

	connect     func() (client.WithWatch, error)
	installCRDs func(context.Context) error
}

// NewClient prepares a client from cfg. It fails only on settings that can
// never work (an unreadable kubeconfig, a missing context).
func NewClient(cfg Config) (*Client, error) {
	restCfg, err := cfg.RESTConfig()
	if err != nil {
		return nil, err
	}
	restCfg = rest.CopyConfig(restCfg)
	restCfg.UserAgent = FieldManager
	c := &Client{source: cfg.Source(), rest: restCfg}
	c.connect = sync.OnceValues(c.dial)
	var installErr error
	var installOnce sync.Once
	c.installCRDs = func(ctx context.Context) error {
		installOnce.Do(func() { installErr = crds.Install(ctx, c.rest, FieldManager, registry.CRDs()...) })
		return installErr
	}
	return c, nil
}

// dial checks that the API server answers and accepts the credentials, and
// builds the controller-runtime client.
func (c *Client) dial() (client.WithWatch, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(c.rest)
	if err != nil {
		return nil, fmt.Errorf("management cluster (%s): %w", c.source, err)
	}
	if _, err := dc.ServerVersion(); err != nil {
		return nil, c.explain(err)
	}
	cl, err := client.NewWithWatch(c.rest, client.Options{Scheme: Scheme})
	if err != nil {
		return nil, fmt.Errorf("management cluster at %s: %w", c.rest.Host, err)
	}
	return cl, nil
}

// explain turns a failed first contact into a message a user can act on.
func (c *Client) explain(err error) error {
	var netErr *net.OpError
	switch {
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("management cluster at %s rejected the credentials from %s (401 Unauthorized): check the token or client certificate", c.rest.Host, c.source)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("management cluster at %s: the credentials from %s are not allowed to read the server version (403 Forbidden): %w", c.rest.Host, c.source, err)
	case errors.As(err, &netErr):
		return fmt.Errorf("management cluster at %s is unreachable (from %s): %w", c.rest.Host, c.source, err)
	default:
		return fmt.Errorf("management cluster at %s (from %s): %w", c.rest.Host, c.source, err)
	}
}

// RESTConfig is the connection to the management cluster.
func (c *Client) RESTConfig() *rest.Config { return rest.CopyConfig(c.rest) }

// Reader returns a client for reads. It never changes anything in the
// cluster, so plan and refresh stay side-effect free.
func (c *Client) Reader() (client.WithWatch, error) {
	return c.connect()
}

// Writer returns a client for writes, after making sure the CRDs are
// installed and current.
func (c *Client) Writer(ctx context.Context) (client.WithWatch, error) {
	cl, err := c.connect()
	if err != nil {
		return nil, err
	}
	if err := c.installCRDs(ctx); err != nil {
		return nil, fmt.Errorf("installing Cluster API CRDs into the management cluster at %s: %w", c.rest.Host, err)
	}
	return cl, nil
}

// DryRunApply returns what the stored object would be after applying obj,
// without changing anything: what an admission webhook would be shown.
func (c *Client) DryRunApply(ctx context.Context, obj client.Object) (client.Object, error) {
	out := obj.DeepCopyObject().(client.Object)
	if err := c.apply(ctx, out, client.DryRunAll); err != nil {
		return nil, err
	}
	return out, nil
}

// Apply server-side applies obj with the provider's field manager and
// updates obj with the result. Only fields that are set in obj are owned,
// so fields written by controllers or by hand elsewhere are left alone.
func (c *Client) Apply(ctx context.Context, obj client.Object) error {
	return c.apply(ctx, obj)
}

func (c *Client) apply(ctx context.Context, obj client.Object, opts ...client.ApplyOption) error {
	cl, err := c.Writer(ctx)
	if err != nil {
		return err
	}
	gvk, err := cl.GroupVersionKindFor(obj)
	if err != nil {
		return err
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	u, err := toApplyConfiguration(obj)
	if err != nil {
		return err
	}
	opts = append(opts, client.FieldOwner(FieldManager), client.ForceOwnership)
	if err := cl.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), opts...); err != nil {
		return err
	}
	return runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj)
}

// toApplyConfiguration keeps what the typed object serialises (the API types
// omit unset fields) minus the fields no client may apply.
func toApplyConfiguration(obj client.Object) (*unstructured.Unstructured, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	unstructured.RemoveNestedField(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "metadata", "resourceVersion")
	unstructured.RemoveNestedField(u.Object, "metadata", "managedFields")
	return u, nil
}
