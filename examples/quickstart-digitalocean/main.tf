# The quickstart on DigitalOcean: a highly available Cluster API cluster
# (three kubeadm control plane droplets behind the API server's load
# balancer, in a VPC of its own behind a cloud firewall) with a pool of
# three workers, made by the module in ../modules/digitalocean-cluster.
# `make quickstart-digitalocean` runs it against the lab: its management
# cluster (KUBECONFIG) and its DigitalOcean API (DIGITALOCEAN_API_URL and
# DIGITALOCEAN_TOKEN), both from `capi-lab env`, where droplets play
# kubeadm and join a simulated workload cluster. The image is a snapshot
# with Kubernetes (as Kubernetes image-builder makes them): on the lab,
# `capi-lab image digitalocean v1.36.0` prints its ID.
terraform {
  required_providers {
    capi = {
      source = "terraform-capi/capi"
    }
  }
}

# The token comes from DIGITALOCEAN_TOKEN.
provider "capi" {}

variable "kubernetes_version" {
  description = "Kubernetes version of every machine. Changing it upgrades the control plane, then the workers, in place; set image to the new version's with it."
  type        = string
  default     = "v1.36.0"
}

variable "image" {
  description = "ID of a droplet snapshot with kubeadm, kubelet and containerd of kubernetes_version."
  type        = string
}

variable "workers" {
  description = "Number of worker droplets."
  type        = number
  default     = 3
}

module "cluster" {
  source = "../modules/digitalocean-cluster"

  name               = "quickstart-do"
  kubernetes_version = var.kubernetes_version
  image              = var.image
  region             = "nyc3"
  control_plane      = { replicas = 3, size = "s-2vcpu-4gb" }

  node_pools = {
    workers = {
      replicas = var.workers
      size     = "s-2vcpu-2gb"
      labels   = { "node-role.kubernetes.io/worker" = "" }
    }
  }

  addons = {
    cni = file("${path.module}/../quickstart/cni.yaml")
  }
}

output "cluster_id" {
  value = module.cluster.cluster_id
}

output "api_server_endpoint" {
  value = module.cluster.api_server_endpoint
}
