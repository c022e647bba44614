# The quickstart: a Cluster API cluster on AWS infrastructure with a kubeadm
# control plane. `make quickstart` runs it against the lab: its management
# cluster (KUBECONFIG) and its AWS simulator (AWS_ENDPOINT_URL), both from
# `capi-lab env`. Against real AWS, use a real AMI and drop nothing else.
terraform {
  required_providers {
    capi = {
      source = "terraform-capi/capi"
    }
  }
}

provider "capi" {}

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
    version = "v1.36.0"
    machine = {
      ami           = "ami-0123456789abcdef0"
      instance_type = "t3.large"
    }
  }

  # Network, load balancer and control plane endpoint ready. The lab's
  # instances do not run kubeadm yet, so nodes never become ready there.
  wait_for = "available"
}

output "cluster_id" {
  value = capi_cluster.quickstart.id
}

output "api_server_endpoint" {
  value = capi_cluster.quickstart.api_server_endpoint
}
