# Standalone machines only: those of a MachineDeployment or of a control
# plane belong to capi_machine_deployment and capi_cluster.
list "capi_machine" "demo" {
  provider = capi
  config {
    cluster_name = "demo"
  }
}
