data "capi_cluster" "example" {
  name      = "example"
  namespace = "default"
}

output "cluster_phase" {
  value = data.capi_cluster.example.phase
}
