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
  description = "Kubernetes version of every machine. Changing it upgrades the control plane, then the node pools, in place; images are looked up by version."
  type        = string
}

variable "region" {
  description = "AWS region of every resource of the cluster."
  type        = string
  default     = "us-east-1"
}

variable "availability_zones" {
  description = "Zones of the cluster's subnets and failure domains. Default: the region's first three."
  type        = list(string)
  default     = null
}

variable "control_plane" {
  description = "The control plane: 1, 3 or 5 EC2 instances."
  type = object({
    replicas      = optional(number, 3)
    instance_type = optional(string, "t3.large")
  })
  default = {}
}

variable "node_pools" {
  description = "Worker node pools by name: a capi_machine_deployment each."
  type = map(object({
    replicas          = number
    instance_type     = optional(string, "t3.medium")
    availability_zone = optional(string)
    labels            = optional(map(string), {})
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
