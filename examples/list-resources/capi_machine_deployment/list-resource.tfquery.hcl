list "capi_machine_deployment" "demo" {
  provider = capi
  config {
    namespace    = "default"
    cluster_name = "demo"
  }
}
