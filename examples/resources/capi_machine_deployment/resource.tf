# Three workers that join the cluster with kubeadm. Changing replicas
# scales in place; changing version, the cloud block (aws, digitalocean)
# or taints rolls the machines in place, one extra machine at a time and
# none unavailable.
resource "capi_machine_deployment" "workers" {
  cluster  = capi_cluster.example.name
  name     = "example-workers"
  replicas = 3
  version  = "v1.36.0"

  labels = {
    "node-role.kubernetes.io/worker" = ""
  }

  # The newest of Cluster API's published images for the version.
  aws = {
    instance_type = "t3.large"
  }

  rollout = {
    max_surge       = "1"
    max_unavailable = "0"
  }

  # Scale down the newest machines first.
  deletion_order = "Newest"
}

# Dedicated nodes for batch jobs, rolled only when you delete a machine,
# with a stricter health check.
resource "capi_machine_deployment" "batch" {
  cluster  = capi_cluster.example.name
  name     = "example-batch"
  replicas = 2
  version  = "v1.36.0"

  taints = [{
    key    = "dedicated"
    value  = "batch"
    effect = "NoSchedule"
  }]

  # An image of your own, found by name for each Kubernetes version.
  aws = {
    instance_type    = "c6i.2xlarge"
    root_volume_size = 100
    image_lookup = {
      owner       = "123456789012"
      name_format = "batch-{{.BaseOS}}-k8s-{{.K8sVersion}}-*"
      base_os     = "ubuntu-24.04"
    }
  }
  availability_zone = "eu-west-1a"

  # Changing these rolls the machines onto a new bootstrap template.
  kubeadm = {
    kubelet_extra_args = { "max-pods" = "50" }
    node_labels        = { "example.com/pool" = "batch" }
    files = [{
      path        = "/etc/sysctl.d/90-batch.conf"
      content     = "vm.max_map_count = 262144\n"
      permissions = "0644"
    }]
    pre_kubeadm_commands = ["sysctl --system"]
    users = [{
      name                = "ops"
      ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyOnly ops@example.com"]
      sudo                = "ALL=(ALL) NOPASSWD:ALL"
    }]
  }

  rollout = {
    strategy = "OnDelete"
  }

  health_check = {
    node_startup_timeout = "15m"
    unhealthy_timeout    = "2m"
    max_unhealthy        = "50%"
  }

  timeouts {
    update = "2h"
  }
}

# One deployment per zone, the Cluster API convention: a deployment's
# machines are all in one failure domain (without availability_zone,
# the first of the cluster's), so spreading workers over zones takes a
# deployment in each.
resource "capi_machine_deployment" "per_zone" {
  for_each = toset(["eu-west-1a", "eu-west-1b", "eu-west-1c"])

  cluster           = capi_cluster.example.name
  name              = "example-workers-${each.key}"
  replicas          = 2
  version           = "v1.36.0"
  availability_zone = each.key

  aws = {
    instance_type = "t3.large"
  }
}

# Workers on DigitalOcean, in a cluster with a digitalocean block: droplets
# of the snapshot with the version's Kubernetes.
resource "capi_machine_deployment" "droplets" {
  cluster  = capi_cluster.on_digitalocean.name
  name     = "example-do-workers"
  replicas = 3
  version  = "v1.36.0"

  digitalocean = {
    size       = "s-2vcpu-4gb"
    image      = "184131703"
    monitoring = true
  }
}
