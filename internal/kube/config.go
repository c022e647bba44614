// Package kube connects the provider to the management cluster: it builds a
// client from the provider's configuration, checks the connection once with
// a clear error, installs the CRDs on first write, applies objects
// server-side and waits on watches.
package kube

import (
	"errors"
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Config says how to reach the management cluster. Empty fields are unset.
type Config struct {
	ConfigPath           string
	ConfigContext        string
	Host                 string
	Token                string
	ClusterCACertificate string
	ClientCertificate    string
	ClientKey            string
	Insecure             bool
}

// Source names where the connection settings came from, for error messages.
func (c Config) Source() string {
	switch {
	case c.ConfigPath != "":
		return "kubeconfig " + c.ConfigPath
	case c.Host != "":
		return "host " + c.Host
	default:
		return "the default kubeconfig (KUBECONFIG or ~/.kube/config)"
	}
}

// RESTConfig resolves the settings the way kubectl would:
//   - with a config path, that file (and context), with any inline settings
//     overriding it;
//   - with only a host, the inline settings alone (no file is read, which
//     is what remote runs without local files need);
//   - with neither, the standard loading rules (KUBECONFIG, ~/.kube/config).
func (c Config) RESTConfig() (*rest.Config, error) {
	if c.ConfigPath == "" && c.Host != "" {
		return c.inline()
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if c.ConfigPath != "" {
		rules = &clientcmd.ClientConfigLoadingRules{ExplicitPath: c.ConfigPath}
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: c.ConfigContext}
	overrides.ClusterInfo.Server = c.Host
	overrides.ClusterInfo.InsecureSkipTLSVerify = c.Insecure
	if c.ClusterCACertificate != "" {
		overrides.ClusterInfo.CertificateAuthorityData = []byte(c.ClusterCACertificate)
	}
	overrides.AuthInfo.Token = c.Token
	if c.ClientCertificate != "" {
		overrides.AuthInfo.ClientCertificateData = []byte(c.ClientCertificate)
	}
	if c.ClientKey != "" {
		overrides.AuthInfo.ClientKeyData = []byte(c.ClientKey)
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, errors.New("no management cluster configured: set the provider's kubernetes block, KUBE_CONFIG_PATH or KUBE_HOST, or KUBECONFIG")
		}
		return nil, fmt.Errorf("loading %s: %w", c.Source(), err)
	}
	return cfg, nil
}

func (c Config) inline() (*rest.Config, error) {
	if (c.ClientCertificate == "") != (c.ClientKey == "") {
		return nil, errors.New("client_certificate and client_key must be set together")
	}
	cfg := &rest.Config{
		Host:        c.Host,
		BearerToken: c.Token,
		TLSClientConfig: rest.TLSClientConfig{
			Insecure: c.Insecure,
			CAData:   []byte(c.ClusterCACertificate),
			CertData: []byte(c.ClientCertificate),
			KeyData:  []byte(c.ClientKey),
		},
	}
	if c.ClusterCACertificate == "" {
		cfg.CAData = nil
	}
	if c.ClientCertificate == "" {
		cfg.CertData, cfg.KeyData = nil, nil
	}
	return cfg, nil
}
