package mgmt

import (
	"fmt"

	"k8s.io/kubernetes/cmd/kube-apiserver/app"

	"github.com/terraform-capi/terraform-provider-capi/lab/internal/pki"
)

// apiServerArgs are the kube-apiserver flags of the lab: loopback only, the
// lab's PKI, no controllers besides the API server itself.
func apiServerArgs(dir Dir, ports Ports) []string {
	certs := pki.Files{Dir: dir.PKI()}
	return []string{
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", ports.EtcdClient),
		"--bind-address=127.0.0.1",
		// With a loopback advertise address the endpoints reconciler
		// would fight over the kubernetes Service; nothing needs it here.
		"--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none",
		fmt.Sprintf("--secure-port=%d", ports.APIServer),
		"--cert-dir=" + dir.PKI(),
		"--tls-cert-file=" + certs.ServingCert(),
		"--tls-private-key-file=" + certs.ServingKey(),
		"--client-ca-file=" + certs.CACert(),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + certs.ServiceAccountPub(),
		"--service-account-signing-key-file=" + certs.ServiceAccountKey(),
		"--service-cluster-ip-range=10.96.0.0/12",
		"--authorization-mode=RBAC",
		// No controller-manager runs, so nothing would create the default
		// ServiceAccount the admission plugin insists on.
		"--disable-admission-plugins=ServiceAccount",
		"--allow-privileged=true",
		"--profiling=false",
		// Open watches (a controller, kubectl -w) must not hold a stop up.
		"--shutdown-watch-termination-grace-period=2s",
		"--v=0",
	}
}

// runAPIServer runs kube-apiserver in this process until it receives SIGTERM
// or SIGINT (it installs its own signal handler).
func runAPIServer(dir Dir, ports Ports) error {
	cmd := app.NewAPIServerCommand()
	cmd.SetArgs(apiServerArgs(dir, ports))
	return cmd.Execute()
}
