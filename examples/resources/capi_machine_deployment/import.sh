# A MachineDeployment is imported by namespace/name.
terraform import capi_machine_deployment.workers default/example-workers
