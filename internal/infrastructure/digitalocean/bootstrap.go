package digitalocean

import infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/api/v1alpha1"

// KubeletProviderID is the kubelet's provider-id flag on a droplet
// (nodeRegistration.kubeletExtraArgs of a KubeadmConfig): cloud-init's
// DigitalOcean datasource renders it in the user data that Cluster API's
// kubeadm bootstrap provider writes (a `## template: jinja` cloud-config)
// as the droplet's ID after digitalocean://, which is the DOMachine's
// spec.providerID. So Cluster API matches the node to its Machine without
// a cloud controller manager. The node takes the droplet's name, the
// Machine's, as its host name.
const KubeletProviderID = infrav1.ProviderIDPrefix + "{{ ds.meta_data.instance_id }}"
