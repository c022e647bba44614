terraform {
  required_version = ">= 1.11"
  required_providers {
    capi = {
      source = "terraform-capi/capi"
    }
  }
}
