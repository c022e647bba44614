# A Machine is imported by namespace/name.
terraform import capi_machine.worker default/example-worker-0
