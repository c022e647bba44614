# A Kubernetes cluster on DigitalOcean: a kubeadm control plane behind an
# API server load balancer in a VPC of its own, a cloud firewall around its
# droplets, and a deployment of workers per node pool.

resource "capi_cluster" "this" {
  name      = var.name
  namespace = var.namespace

  cluster_network = {
    pod_cidrs     = var.cluster_network.pod_cidrs
    service_cidrs = var.cluster_network.service_cidrs
  }

  digitalocean = {
    region             = var.region
    vpc_ip_range       = var.vpc_ip_range
    api_server_sources = var.api_server_sources
  }

  control_plane = {
    replicas = var.control_plane.replicas
    version  = var.kubernetes_version
    machine = {
      size     = var.control_plane.size
      image    = var.image
      ssh_keys = var.ssh_keys
    }
  }

  addons = length(var.addons) > 0 ? { for name, manifests in var.addons : name => { manifests = manifests } } : null
}

resource "capi_machine_deployment" "pool" {
  for_each = var.node_pools

  cluster   = capi_cluster.this.name
  namespace = capi_cluster.this.namespace
  name      = "${var.name}-${each.key}"
  replicas  = each.value.replicas
  version   = var.kubernetes_version
  labels    = length(each.value.labels) > 0 ? each.value.labels : null
  taints    = length(each.value.taints) > 0 ? each.value.taints : null

  digitalocean = {
    size     = each.value.size
    image    = coalesce(each.value.image, var.image)
    ssh_keys = var.ssh_keys
  }
}
