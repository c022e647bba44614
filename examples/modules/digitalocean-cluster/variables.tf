variable "name" {
  description = "Name of the cluster; node pools are named <name>-<pool>."
  type        = string
}

variable "namespace" {
  description = "Namespace of the cluster's objects in the management cluster."
  type        = string
  default     = "default"
}

variable "kubernetes_version" {
  description = "Kubernetes version of every machine. Changing it upgrades the control plane, then the node pools, in place; give image the new version's image with it."
  type        = string
}

variable "image" {
  description = "Droplet image (snapshot ID or slug) holding kubeadm, kubelet and containerd of kubernetes_version, such as one built with Kubernetes image-builder. Node pools may set their own."
  type        = string
}

variable "region" {
  description = "DigitalOcean region of every resource of the cluster."
  type        = string
  default     = "nyc3"
}

variable "vpc_ip_range" {
  description = "Private range of the cluster's new VPC (RFC 1918, /16 to /28). Default: one DigitalOcean chooses."
  type        = string
  default     = null
}

variable "api_server_sources" {
  description = "Networks allowed to reach the API server. Default: everywhere."
  type        = list(string)
  default     = null
}

variable "ssh_keys" {
  description = "SSH keys of the account (IDs or fingerprints) on every droplet."
  type        = list(string)
  default     = null
}

variable "control_plane" {
  description = "The control plane: 1, 3 or 5 droplets of a size with at least 2 vCPUs and 2 GiB."
  type = object({
    replicas = optional(number, 3)
    size     = optional(string, "s-2vcpu-4gb")
  })
  default = {}
}

variable "node_pools" {
  description = "Worker node pools by name: a capi_machine_deployment each."
  type = map(object({
    replicas = number
    size     = optional(string, "s-2vcpu-4gb")
    image    = optional(string)
    labels   = optional(map(string), {})
    taints = optional(list(object({
      key    = string
      value  = optional(string)
      effect = string
    })), [])
  }))
  default = {}
}

variable "cluster_network" {
  description = "Pod and service networks of the workload cluster."
  type = object({
    pod_cidrs     = list(string)
    service_cidrs = list(string)
  })
  default = {
    pod_cidrs     = ["192.168.0.0/16"]
    service_cidrs = ["10.128.0.0/12"]
  }
}

variable "addons" {
  description = "Manifests applied to the workload cluster once its API server answers, by name: the network plugin first of all."
  type        = map(string)
  default     = {}
}
