package workload

import (
	"fmt"
	"testing"
)

// Node registrations as Cluster API's DigitalOcean templates write them:
// the node named after the droplet, its provider ID from the droplet ID,
// both by key from cloud-init's DigitalOcean metadata.
const (
	dropletName       = "  name: '{{ ds.meta_data[\"local_hostname\"] }}'\n"
	dropletProviderID = "  kubeletExtraArgs:\n  - name: provider-id\n    value: 'digitalocean://{{ ds.meta_data[\"instance_id\"] }}'\n"
)

func droplet(id int, name string, n int, userData []byte) Instance {
	return Instance{Cloud: DigitalOcean, ID: fmt.Sprint(id), Name: name, Region: "nyc3", PrivateIP: fmt.Sprintf("10.108.0.%d", n),
		KubernetesVersion: "v1.36.3", UserData: userData}
}

func TestDropletsJoinWithTheirNamesAndProviderIDs(t *testing.T) {
	sim := newSim(t)
	endpoint := loopbackEndpoint(t)
	initData, certs := initUserData(t, endpoint, dropletName+dropletProviderID)
	cs := startCluster(t, sim, droplet(510000001, "c1-cp-abcde", 2, initData), endpoint, certs)
	n := getNode(t, cs, "c1-cp-abcde")
	if n.Spec.ProviderID != "digitalocean://510000001" || n.Labels[controlPlaneRole] != "" || n.Status.Addresses[0].Address != "10.108.0.2" {
		t.Fatalf("control plane node %s: provider ID %q, labels %v, addresses %v", n.Name, n.Spec.ProviderID, n.Labels, n.Status.Addresses)
	}

	createToken(t, cs, "abcdef", "0123456789abcdef")
	// Without nodeRegistration.name the node takes the droplet's host
	// name, lower-cased by kubeadm; without the flag it has no provider
	// ID: no cloud controller manager gives a droplet one here.
	sim.InstanceRunning(droplet(510000002, "C1-Worker-0", 3, joinUserData(t, endpoint, "abcdef.0123456789abcdef", "  taints: []\n")))
	waitNodes(t, cs, 2)
	if w := getNode(t, cs, "c1-worker-0"); w.Name == "" || w.Spec.ProviderID != "" {
		t.Fatalf("worker node %q provider ID %q", w.Name, w.Spec.ProviderID)
	}

	// The metadata's other keys render too; attribute and key lookups
	// read the same.
	data := renderUserData([]byte("## template: jinja\n{{ v1.cloud_name }} {{ ds.meta_data.availability_zone }} {{ v1.region }} "+
		"{{ ds.meta_data['instance_id'] }} {{ ds.meta_data.placement.region }}"), instanceData(droplet(7, "a", 4, nil)))
	if got := string(data); got != "digitalocean nyc3 nyc3 7 CI_MISSING_JINJA_VAR/region" {
		t.Fatalf("rendered %q", got)
	}

	// No cloud controller manager deletes a deleted droplet's node here:
	// it turns unreachable and stays.
	sim.InstanceTerminated("510000002")
	eventually(t, "the deleted droplet's node is unreachable", func() bool {
		n := getNode(t, cs, "c1-worker-0")
		return nodeUnknown(&n)
	})
	waitNodes(t, cs, 2)
	sim.InstanceTerminated("510000001")
	eventually(t, "the endpoint refuses with no control plane droplet", func() bool { return refused(endpoint) })
}
