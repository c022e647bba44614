# The quickstart: a highly available Cluster API cluster on AWS
# infrastructure (three kubeadm control plane machines behind a load
# balancer) with a deployment of three workers. `make quickstart` runs it
# against the lab: its management cluster (KUBECONFIG) and its AWS simulator
# (AWS_ENDPOINT_URL), both from `capi-lab env`, where instances play kubeadm
# and join a simulated workload cluster. Machines boot Cluster API's
# published images for their Kubernetes version (looked up by name, as on
# real AWS), and the cluster's network plugin comes as an add-on: nodes are
# Ready only once it runs.
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

resource "capi_cluster" "quickstart" {
  name = "quickstart"

  labels = {
    "app.kubernetes.io/part-of" = "quickstart"
  }

  cluster_network = {
    pod_cidrs      = ["192.168.0.0/16"]
    service_cidrs  = ["10.128.0.0/12"]
    service_domain = "cluster.local"
  }

  aws = {
    region = "us-east-1"
  }

  control_plane = {
    replicas = 3
    version  = var.kubernetes_version
    machine = {
      instance_type = "t3.large"
    }
  }

  # Applied to the workload cluster by Cluster API's ClusterResourceSet
  # reconciler once its API server answers.
  addons = {
    cni = {
      manifests = file("${path.module}/cni.yaml")
    }
  }
}

resource "capi_machine_deployment" "workers" {
  cluster  = capi_cluster.quickstart.name
  name     = "quickstart-workers"
  replicas = var.workers
  version  = var.kubernetes_version

  labels = {
    "node-role.kubernetes.io/worker" = ""
  }

  aws = {
    instance_type = "t3.medium"
  }

  rollout = {
    max_surge       = "1"
    max_unavailable = "0"
  }
}

output "cluster_id" {
  value = capi_cluster.quickstart.id
}

output "api_server_endpoint" {
  value = capi_cluster.quickstart.api_server_endpoint
}
