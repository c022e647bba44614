# With no settings the provider reads KUBECONFIG (or ~/.kube/config), as
# kubectl does.
provider "capi" {}

# A kubeconfig file and context.
provider "capi" {
  alias = "kubeconfig"
  kubernetes {
    config_path    = "~/.kube/config"
    config_context = "management"
  }
}

# Endpoint overrides for the embedded AWS reconcilers (credentials always
# come from the AWS SDK's standard chain).
provider "capi" {
  alias = "aws_endpoints"
  aws {
    profile      = "platform"
    ec2_endpoint = "https://ec2.eu-west-1.amazonaws.com"
  }
}

# DigitalOcean's reconcilers take the token from DIGITALOCEAN_TOKEN (or
# DIGITALOCEAN_ACCESS_TOKEN), as in an HCP Terraform workspace's
# environment; a block is needed only to set it from a variable or to reach
# another API URL.
provider "capi" {
  alias = "digitalocean"
  digitalocean {
    token = var.digitalocean_token
  }
}

variable "digitalocean_token" {
  type      = string
  sensitive = true
}

# Inline settings, for remote runs without local files. The same values can
# come from KUBE_HOST, KUBE_TOKEN and KUBE_CLUSTER_CA_CERT_DATA instead.
provider "capi" {
  alias = "inline"
  kubernetes {
    host                   = var.management_host
    token                  = var.management_token
    cluster_ca_certificate = var.management_ca
  }
}

variable "management_host" {
  type = string
}

variable "management_token" {
  type      = string
  sensitive = true
}

variable "management_ca" {
  type = string
}
