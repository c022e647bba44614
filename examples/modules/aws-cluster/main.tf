# A Kubernetes cluster on AWS: a kubeadm control plane behind a network
# load balancer in a VPC of its own (a public and a private subnet per
# zone), and a deployment of workers per node pool. Machines boot Cluster
# API's published images for their Kubernetes version.

resource "capi_cluster" "this" {
  name      = var.name
  namespace = var.namespace

  cluster_network = {
    pod_cidrs     = var.cluster_network.pod_cidrs
    service_cidrs = var.cluster_network.service_cidrs
  }

  aws = {
    region             = var.region
    availability_zones = var.availability_zones
  }

  control_plane = {
    replicas = var.control_plane.replicas
    version  = var.kubernetes_version
    machine = {
      instance_type = var.control_plane.instance_type
    }
  }

  addons = length(var.addons) > 0 ? { for name, manifests in var.addons : name => { manifests = manifests } } : null
}

resource "capi_machine_deployment" "pool" {
  for_each = var.node_pools

  cluster           = capi_cluster.this.name
  namespace         = capi_cluster.this.namespace
  name              = "${var.name}-${each.key}"
  replicas          = each.value.replicas
  version           = var.kubernetes_version
  availability_zone = each.value.availability_zone
  labels            = length(each.value.labels) > 0 ? each.value.labels : null
  taints            = length(each.value.taints) > 0 ? each.value.taints : null

  aws = {
    instance_type = each.value.instance_type
  }

  rollout = {
    max_surge       = "1"
    max_unavailable = "0"
  }
}
