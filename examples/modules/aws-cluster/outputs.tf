output "cluster_id" {
  description = "namespace/name of the Cluster."
  value       = capi_cluster.this.id
}

output "cluster" {
  description = "Name and namespace of the Cluster, for the capi_cluster_kubeconfig ephemeral resource or data source."
  value = {
    name      = capi_cluster.this.name
    namespace = capi_cluster.this.namespace
  }
}

output "api_server_endpoint" {
  description = "URL of the workload cluster's API server: its network load balancer."
  value       = capi_cluster.this.api_server_endpoint
}

output "node_pools" {
  description = "The node pools' MachineDeployments (namespace/name) by pool."
  value       = { for name, pool in capi_machine_deployment.pool : name => pool.id }
}
