# A worker that joins the cluster with kubeadm.
resource "capi_machine" "worker" {
  name    = "example-worker-0"
  cluster = capi_cluster.example.name
  version = "v1.36.0"

  aws = {
    instance_type     = "t3.large"
    availability_zone = "eu-west-1b"
  }
}

# A machine that boots with a script of your own instead of kubeadm.
resource "capi_machine" "bastion" {
  name    = "example-bastion"
  cluster = capi_cluster.example.name

  # A user data script needs no Kubernetes in the image: name one.
  aws = {
    ami           = "ami-0123456789abcdef0"
    instance_type = "t3.micro"
  }

  bootstrap_script = file("${path.module}/bastion.sh")
  wait_for         = "provisioned"
}
