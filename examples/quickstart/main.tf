# The quickstart: a Cluster API cluster in the lab's management cluster.
# `make quickstart` runs it with KUBE_CONFIG_PATH pointing at the lab.
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
}

output "cluster_id" {
  value = capi_cluster.quickstart.id
}
