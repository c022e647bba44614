# A cluster on AWS with a three-machine kubeadm control plane. The provider
# runs Cluster API's reconcilers during apply and destroy: no controller has
# to be installed in the management cluster.
resource "capi_cluster" "example" {
  name      = "example"
  namespace = "default"

  labels = {
    environment = "dev"
  }

  cluster_network = {
    pod_cidrs      = ["192.168.0.0/16"]
    service_cidrs  = ["10.128.0.0/12"]
    service_domain = "cluster.local"
  }

  aws = {
    region             = "eu-west-1"
    availability_zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
  }

  control_plane = {
    replicas = 3
    version  = "v1.36.0"
    machine = {
      instance_type        = "t3.large"
      iam_instance_profile = "control-plane.cluster-api-provider-aws.sigs.k8s.io"
    }
    kubeadm = {
      api_server_extra_args = { "audit-log-maxage" = "30" }
      api_server_cert_sans  = ["api.example.com"]
      ntp_servers           = ["169.254.169.123"]
    }
  }

  # The network plugin, applied once the API server answers: nodes are
  # Ready only once it runs. Use your plugin's published manifest, with its
  # pod network matching cluster_network.pod_cidrs.
  addons = {
    cni = {
      manifests = file("${path.module}/calico.yaml")
    }
  }

  timeouts {
    create = "45m"
    delete = "30m"
  }
}

# Only the Cluster object, for a management cluster where Cluster API's
# controllers run: no reconcilers run in the provider for it.
resource "capi_cluster" "object_only" {
  name = "object-only"

  control_plane_endpoint = {
    host = "api.example.com"
    port = 6443
  }
}

# The same on DigitalOcean: a VPC of its own, a cloud firewall around the
# cluster's droplets (SSH only from the office), and a load balancer for
# the API server. The image is a snapshot with kubeadm, kubelet and
# containerd of the version, such as Kubernetes image-builder makes; the
# token comes from DIGITALOCEAN_TOKEN.
resource "capi_cluster" "on_digitalocean" {
  name = "example-do"

  digitalocean = {
    region             = "nyc3"
    vpc_ip_range       = "10.40.0.0/20"
    api_server_sources = ["203.0.113.0/24"]
    ssh_sources        = ["203.0.113.0/24"]
  }

  control_plane = {
    replicas = 3
    version  = "v1.36.0"
    machine = {
      size     = "s-2vcpu-4gb"
      image    = "184131703"
      ssh_keys = ["3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa"]
    }
  }

  addons = {
    cni = {
      manifests = file("${path.module}/calico.yaml")
    }
  }
}
