# The workload cluster's admin credentials configure the kubernetes
# provider without ever being written to the state (Terraform 1.10+).
ephemeral "capi_cluster_kubeconfig" "example" {
  cluster = capi_cluster.example.name
}

provider "kubernetes" {
  host                   = ephemeral.capi_cluster_kubeconfig.example.host
  cluster_ca_certificate = ephemeral.capi_cluster_kubeconfig.example.cluster_ca_certificate
  client_certificate     = ephemeral.capi_cluster_kubeconfig.example.client_certificate
  client_key             = ephemeral.capi_cluster_kubeconfig.example.client_key
}
