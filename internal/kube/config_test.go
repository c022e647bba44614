package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

func writeKubeconfig(t *testing.T) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["a"] = &clientcmdapi.Cluster{Server: "https://a.example:6443"}
	cfg.Clusters["b"] = &clientcmdapi.Cluster{Server: "https://b.example:6443"}
	cfg.AuthInfos["user"] = &clientcmdapi.AuthInfo{Token: "file-token"}
	cfg.Contexts["a"] = &clientcmdapi.Context{Cluster: "a", AuthInfo: "user"}
	cfg.Contexts["b"] = &clientcmdapi.Context{Cluster: "b", AuthInfo: "user"}
	cfg.CurrentContext = "a"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRESTConfigFromFileAndContext(t *testing.T) {
	path := writeKubeconfig(t)
	cfg, err := Config{ConfigPath: path}.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://a.example:6443" || cfg.BearerToken != "file-token" {
		t.Errorf("current context: host %s token %s", cfg.Host, cfg.BearerToken)
	}
	cfg, err = Config{ConfigPath: path, ConfigContext: "b", Token: "override"}.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://b.example:6443" || cfg.BearerToken != "override" {
		t.Errorf("context b with token override: host %s token %s", cfg.Host, cfg.BearerToken)
	}
	if _, err := (Config{ConfigPath: path, ConfigContext: "missing"}).RESTConfig(); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing context: %v", err)
	}
}

func TestRESTConfigInlineReadsNoFile(t *testing.T) {
	t.Setenv("KUBECONFIG", writeKubeconfig(t))
	cfg, err := Config{Host: "https://inline:6443", Token: "t", ClusterCACertificate: "PEM"}.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://inline:6443" || cfg.BearerToken != "t" || string(cfg.CAData) != "PEM" {
		t.Errorf("inline config = %+v", cfg)
	}
	if _, err := (Config{Host: "https://inline:6443", ClientKey: "k"}).RESTConfig(); err == nil {
		t.Error("a client key without a certificate was accepted")
	}
}

func TestRESTConfigDefaultRules(t *testing.T) {
	t.Setenv("KUBECONFIG", writeKubeconfig(t))
	cfg, err := Config{}.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://a.example:6443" {
		t.Errorf("host = %s, want the KUBECONFIG's", cfg.Host)
	}

	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	t.Setenv("HOME", t.TempDir())
	_, err = Config{}.RESTConfig()
	if err == nil || !strings.Contains(err.Error(), "no management cluster configured") {
		t.Errorf("no configuration: %v", err)
	}
}

func TestRESTConfigUnreadableFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte("{not yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Config{ConfigPath: path}.RESTConfig()
	if err == nil || !strings.Contains(err.Error(), "loading kubeconfig "+path) {
		t.Errorf("err = %v", err)
	}
}
