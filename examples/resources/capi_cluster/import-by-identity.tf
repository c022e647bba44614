import {
  to = capi_cluster.example
  identity = {
    namespace = "default"
    name      = "example"
  }
}
