# terraform query lists the Clusters; with -generate-config-out=clusters.tf
# it writes a resource and an import block for each.
list "capi_cluster" "team_a" {
  provider = capi
  config {
    namespace = "team-a"
    labels    = { environment = "production" }
  }
}
