package workload

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// awsCCMImage is the image repository of the AWS cloud controller
// manager (kubernetes/cloud-provider-aws); a DaemonSet or Deployment in
// kube-system running it is the cluster's cloud controller manager.
const awsCCMImage = "registry.k8s.io/provider-aws/cloud-controller-manager"

// clusterTagPrefix starts the tag key that says which cluster an AWS
// resource belongs to: kubernetes.io/cluster/<cluster ID>, valued owned
// or shared. The cloud controller manager matches the key only.
const clusterTagPrefix = "kubernetes.io/cluster/"

// errInstanceNotFound is the cloud provider's answer for a node it finds
// no instance for.
var errInstanceNotFound = errors.New("instance not found")

// errNoInstanceRole is the AWS SDK's answer on an instance without an
// instance profile.
var errNoInstanceRole = errors.New("failed to refresh cached credentials, no EC2 IMDS role found, " +
	"operation error ec2imds: GetMetadata, http response error StatusCode: 404, request to EC2 IMDS failed")

// runsAWSCCM says whether the cluster runs the AWS cloud controller
// manager.
func (c *cluster) runsAWSCCM(ctx context.Context) (bool, error) {
	owners, err := c.podOwners(ctx)
	if err != nil {
		return false, err
	}
	for _, o := range owners {
		if o.namespace == kubeSystem && slices.ContainsFunc(o.pods.Containers, isAWSCCM) {
			return true, nil
		}
	}
	return false, nil
}

func isAWSCCM(c corev1.Container) bool {
	return strings.HasPrefix(c.Image, awsCCMImage+":") || strings.HasPrefix(c.Image, awsCCMImage+"@")
}

// awsClusterID is what the cloud controller manager reads off the tags of
// its own instance at start; without it, it exits.
func awsClusterID(tags map[string]string) (string, error) {
	var ids []string
	for key := range tags {
		if id, ok := strings.CutPrefix(key, clusterTagPrefix); ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	switch len(ids) {
	case 0:
		return "", errors.New("AWS cloud failed to find ClusterID")
	case 1:
		return ids[0], nil
	}
	return "", fmt.Errorf("found multiple cluster tags with prefix %s (%q and %q)", clusterTagPrefix, ids[0], ids[1])
}

// cloudControllerManager plays the AWS cloud controller manager, if the
// cluster runs one: on the oldest control plane machine, with that
// instance's profile's credentials and the cluster ID from its tags, it
// initializes every node still tainted
// uninitialized whose instance carries the cluster's tag.
func (s *Simulator) cloudControllerManager(ctx context.Context, c *cluster) error {
	running, err := c.runsAWSCCM(ctx)
	if err != nil || !running {
		return err
	}
	host, ok := s.ccmHost(c)
	if !ok {
		return nil
	}
	if host.IAMInstanceProfile == "" {
		// It reads its own instance's tags through the EC2 API, with the
		// instance profile's credentials.
		s.ccmFailed(c, "", errNoInstanceRole, "instance", host.ID, "why", "the instance has no IAM instance profile")
		return nil
	}
	clusterID, err := awsClusterID(host.Tags)
	if err != nil {
		s.ccmFailed(c, "", err, "instance", host.ID)
		return nil
	}
	s.ccmFailed(c, "", nil)
	var nodes corev1.NodeList
	if err := list(ctx, c.client, &nodes); err != nil {
		return err
	}
	for _, n := range nodes.Items {
		switch {
		case hasTaint(n.Spec.Taints, uninitializedTaint.Key):
			s.initializeNode(ctx, c, &n, clusterID)
		case nodeUnknown(&n) && !s.kubeletRuns(c, n.Name):
			// The cloud node lifecycle controller: a NotReady node whose
			// instance no longer runs goes.
			if err := c.client.Delete(ctx, &n); err != nil && !apierrors.IsNotFound(err) {
				s.ccmFailed(c, n.Name, err)
				continue
			}
			s.log.Info("cloud controller manager deleted node: its instance is gone", "node", n.Name, "endpoint", c.endpoint)
		}
	}
	return nil
}

// nodeUnknown says whether the node lifecycle controller has marked the
// node's Ready condition Unknown: its kubelet stopped posting status.
func nodeUnknown(n *corev1.Node) bool {
	i := slices.IndexFunc(n.Status.Conditions, func(c corev1.NodeCondition) bool { return c.Type == corev1.NodeReady })
	return i >= 0 && n.Status.Conditions[i].Status == corev1.ConditionUnknown
}

// ccmHost is the instance the cloud controller manager runs on: the
// oldest control plane machine (its DaemonSet runs on control plane
// nodes, and the leader keeps its lease).
func (s *Simulator) ccmHost(c *cluster) (Instance, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var host *node
	for _, n := range s.nodes {
		if n.cluster == c && n.controlPlane && (host == nil || n.seq < host.seq) {
			host = n
		}
	}
	if host == nil {
		return Instance{}, false
	}
	return host.instance, true
}

// initializeNode is the cloud node controller's first sync of a node.
func (s *Simulator) initializeNode(ctx context.Context, c *cluster, n *corev1.Node, clusterID string) {
	i, why := s.findInstance(n, clusterID)
	if why != "" {
		s.ccmFailed(c, n.Name, fmt.Errorf("failed to get instance metadata for node %s: %w", n.Name, errInstanceNotFound), "why", why)
		return
	}
	if err := c.updateNode(ctx, n.Name, func(n *corev1.Node) { cloudInitialized(n, i) }); err != nil {
		s.ccmFailed(c, n.Name, err)
		return
	}
	s.ccmFailed(c, n.Name, nil)
	s.log.Info("cloud controller manager initialized node", "node", n.Name, "instance", i.ID, "endpoint", c.endpoint)
}

// findInstance is the AWS cloud provider's lookup of a node's instance:
// by the ID in its provider ID if it has one, else by its name as a
// private DNS name; only instances tagged with the cluster's ID count.
// Finding none, it says why.
func (s *Simulator) findInstance(n *corev1.Node, clusterID string) (Instance, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, known := range s.nodes {
		i := known.instance
		match := i.PrivateDNSName == n.Name
		if n.Spec.ProviderID != "" {
			match = i.ID == n.Spec.ProviderID[strings.LastIndexByte(n.Spec.ProviderID, '/')+1:]
		}
		if !match {
			continue
		}
		if _, tagged := i.Tags[clusterTagPrefix+clusterID]; !tagged {
			return Instance{}, fmt.Sprintf("instance %s has no tag %s%s", i.ID, clusterTagPrefix, clusterID)
		}
		return i, ""
	}
	if n.Spec.ProviderID != "" {
		return Instance{}, fmt.Sprintf("no instance has the ID in provider ID %s", n.Spec.ProviderID)
	}
	return Instance{}, fmt.Sprintf("no instance has the private DNS name %s: the node must be named after it "+
		"(nodeRegistration.name: '{{ ds.meta_data.local_hostname }}')", n.Name)
}

// cloudInitialized is what the cloud node controller writes on a node:
// the provider ID if the kubelet set none, the instance type, zone and
// region labels (stable and beta), the instance's DNS name as an address,
// and no more uninitialized taint.
func cloudInitialized(n *corev1.Node, i Instance) {
	if n.Spec.ProviderID == "" {
		n.Spec.ProviderID = fmt.Sprintf("aws:///%s/%s", i.AvailabilityZone, i.ID)
	}
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	if i.InstanceType != "" {
		n.Labels[corev1.LabelInstanceTypeStable], n.Labels[corev1.LabelInstanceType] = i.InstanceType, i.InstanceType
	}
	n.Labels[corev1.LabelTopologyZone], n.Labels[corev1.LabelFailureDomainBetaZone] = i.AvailabilityZone, i.AvailabilityZone
	n.Labels[corev1.LabelTopologyRegion], n.Labels[corev1.LabelFailureDomainBetaRegion] = i.region(), i.region()
	dns := corev1.NodeAddress{Type: corev1.NodeInternalDNS, Address: i.PrivateDNSName}
	if !slices.Contains(n.Status.Addresses, dns) {
		n.Status.Addresses = append(n.Status.Addresses, dns)
	}
	n.Spec.Taints = withoutTaint(n.Spec.Taints, uninitializedTaint.Key)
}

// ccmFailed logs a failure of the cloud controller manager for a node
// ("" for the manager itself) once, until it changes; nil clears it.
func (s *Simulator) ccmFailed(c *cluster, node string, err error, keysAndValues ...any) {
	if err == nil {
		delete(c.ccmErrors, node)
		return
	}
	if c.ccmErrors[node] == err.Error() {
		return
	}
	c.ccmErrors[node] = err.Error()
	s.log.Error(err, "cloud controller manager", append([]any{"endpoint", c.endpoint, "node", node}, keysAndValues...)...)
}
