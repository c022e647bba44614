resource "capi_cluster" "example" {
  name      = "example"
  namespace = "default"

  labels = {
    environment = "dev"
  }

  cluster_network = {
    pod_cidrs       = ["192.168.0.0/16"]
    service_cidrs   = ["10.128.0.0/12"]
    service_domain  = "cluster.local"
    api_server_port = 6443
  }

  timeouts {
    delete = "30m"
  }
}
