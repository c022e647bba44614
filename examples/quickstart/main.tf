# The quickstart: a highly available Cluster API cluster on AWS
# infrastructure (three kubeadm control plane machines behind a load
# balancer) with a pool of three workers, made by the module in
# ../modules/aws-cluster. `make quickstart` runs it against the lab: its
# management cluster (KUBECONFIG) and its AWS simulator (AWS_ENDPOINT_URL),
# both from `capi-lab env`, where instances play kubeadm and join a
# simulated workload cluster. Machines boot Cluster API's published images
# for their Kubernetes version (looked up by name, as on real AWS), and the
# cluster's network plugin comes as an add-on: nodes are Ready only once it
# runs. The same on DigitalOcean: ../quickstart-digitalocean.
terraform {
  required_providers {
    capi = {
      source = "terraform-capi/capi"
    }
  }
}

provider "capi" {}

variable "kubernetes_version" {
  description = "Kubernetes version of every machine. Changing it upgrades the control plane, then the workers, in place."
  type        = string
  default     = "v1.36.0"
}

variable "workers" {
  description = "Number of worker machines."
  type        = number
  default     = 3
}

module "cluster" {
  source = "../modules/aws-cluster"

  name               = "quickstart"
  kubernetes_version = var.kubernetes_version
  region             = "us-east-1"
  control_plane      = { replicas = 3, instance_type = "t3.large" }

  node_pools = {
    workers = {
      replicas      = var.workers
      instance_type = "t3.medium"
      labels        = { "node-role.kubernetes.io/worker" = "" }
    }
  }

  # Applied to the workload cluster by Cluster API's ClusterResourceSet
  # reconciler once its API server answers.
  addons = {
    cni = file("${path.module}/cni.yaml")
  }
}

output "cluster_id" {
  value = module.cluster.cluster_id
}

output "api_server_endpoint" {
  value = module.cluster.api_server_endpoint
}

# Where the quickstart's resources were before it used the module.
moved {
  from = capi_cluster.quickstart
  to   = module.cluster.capi_cluster.this
}

moved {
  from = capi_machine_deployment.workers
  to   = module.cluster.capi_machine_deployment.pool["workers"]
}
