# A Cluster is imported by namespace/name.
terraform import capi_cluster.example default/example
