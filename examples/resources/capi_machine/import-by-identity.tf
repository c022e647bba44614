import {
  to = capi_machine.worker
  identity = {
    namespace = "default"
    name      = "example-worker-0"
  }
}
