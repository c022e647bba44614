# Stored in the state (sensitive). Prefer the ephemeral resource of the same
# name, which is not.
data "capi_cluster_kubeconfig" "example" {
  cluster = capi_cluster.example.name
}

output "kubeconfig" {
  value     = data.capi_cluster_kubeconfig.example.kubeconfig
  sensitive = true
}
