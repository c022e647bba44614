# Three workers that join the cluster with kubeadm. Changing replicas
# scales in place; changing version, aws or taints rolls the machines in
# place, one extra machine at a time and none unavailable.
resource "capi_machine_deployment" "workers" {
  cluster  = capi_cluster.example.name
  name     = "example-workers"
  replicas = 3
  version  = "v1.36.0"

  labels = {
    "node-role.kubernetes.io/worker" = ""
  }

  aws = {
    ami           = "ami-0123456789abcdef0"
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

  aws = {
    ami              = "ami-0123456789abcdef0"
    instance_type    = "c6i.2xlarge"
    root_volume_size = 100
  }
  availability_zone = "eu-west-1a"

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
