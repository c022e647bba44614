package mgmt

import (
	"context"
	"fmt"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/terraform-capi/terraform-provider-capi/lab/internal/pki"
)

const contextName = "capi-lab"

// WriteKubeconfig writes an admin kubeconfig for the lab's API server, with
// the certificates inlined so the file can be copied elsewhere.
func WriteKubeconfig(dir Dir, ports Ports) error {
	certs := pki.Files{Dir: dir.PKI()}
	ca, err := os.ReadFile(certs.CACert())
	if err != nil {
		return err
	}
	cert, err := os.ReadFile(certs.AdminCert())
	if err != nil {
		return err
	}
	key, err := os.ReadFile(certs.AdminKey())
	if err != nil {
		return err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[contextName] = &clientcmdapi.Cluster{
		Server:                   fmt.Sprintf("https://127.0.0.1:%d", ports.APIServer),
		CertificateAuthorityData: ca,
	}
	cfg.AuthInfos[contextName] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	cfg.Contexts[contextName] = &clientcmdapi.Context{Cluster: contextName, AuthInfo: contextName}
	cfg.CurrentContext = contextName
	return clientcmd.WriteToFile(*cfg, dir.Kubeconfig())
}

// WaitReady polls /readyz through the lab's kubeconfig until it answers ok,
// alive reports false, or the timeout expires.
func WaitReady(ctx context.Context, dir Dir, timeout time.Duration, alive func() bool) error {
	return wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if !alive() {
			return false, fmt.Errorf("the lab process exited; see %s", dir.LogFile())
		}
		cfg, err := clientcmd.BuildConfigFromFlags("", dir.Kubeconfig())
		if err != nil {
			return false, nil
		}
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return false, nil
		}
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(body) == "ok", nil
	})
}
