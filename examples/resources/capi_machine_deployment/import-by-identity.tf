import {
  to = capi_machine_deployment.workers
  identity = {
    namespace = "default"
    name      = "example-workers"
  }
}
