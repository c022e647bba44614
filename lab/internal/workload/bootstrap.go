package workload

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// Role is what kubeadm does on a machine.
type Role int

const (
	// Init is `kubeadm init`: the first control plane machine.
	Init Role = iota
	// JoinControlPlane is `kubeadm join --control-plane`.
	JoinControlPlane
	// JoinWorker is `kubeadm join` of a worker.
	JoinWorker
)

func (r Role) String() string {
	return [...]string{"init", "join-control-plane", "join-worker"}[r]
}

// Bootstrap is what the lab reads from the kubeadm cloud-init that
// Cluster API's kubeadm bootstrap provider generated for a machine.
type Bootstrap struct {
	Role Role
	// Endpoint is the API server address, host:port: the control plane
	// endpoint on init, the discovery endpoint on join.
	Endpoint string
	// NodeName is nodeRegistration.name, the name kubeadm registers the
	// node under; empty means the machine's hostname.
	NodeName string
	// KubernetesVersion is set on init only (a join reads it from the
	// cluster's kubeadm-config).
	KubernetesVersion string
	// ClusterConfiguration is the YAML document kubeadm init uploads into
	// the kubeadm-config ConfigMap.
	ClusterConfiguration string
	// Token is the bootstrap token a join authenticates with.
	Token string
	// KubeletArgs are nodeRegistration.kubeletExtraArgs, the flags kubeadm
	// passes the kubelet, by name without dashes.
	KubeletArgs map[string]string
	// Taints are the node's registration taints (nil: kubeadm's default,
	// the control plane taint on control plane nodes).
	Taints *[]corev1.Taint
	// Files are the cloud-init write_files by path, decoded.
	Files map[string][]byte
}

// Certificate and key paths kubeadm reads its CAs from.
const (
	ClusterCACert = "/etc/kubernetes/pki/ca.crt"
	ClusterCAKey  = "/etc/kubernetes/pki/ca.key"
	EtcdCACert    = "/etc/kubernetes/pki/etcd/ca.crt"
	EtcdCAKey     = "/etc/kubernetes/pki/etcd/ca.key"

	initConfigPath = "/run/kubeadm/kubeadm.yaml"
	joinConfigPath = "/run/kubeadm/kubeadm-join-config.yaml"
)

// ErrNotKubeadm is returned for user data that is not a kubeadm
// cloud-config (a user's own bootstrap script, say).
var ErrNotKubeadm = errors.New("user data is not a kubeadm cloud-config")

type cloudConfig struct {
	WriteFiles []struct {
		Path     string `json:"path"`
		Encoding string `json:"encoding"`
		Content  string `json:"content"`
	} `json:"write_files"`
}

type kubeadmDoc struct {
	Kind                 string `json:"kind"`
	ControlPlaneEndpoint string `json:"controlPlaneEndpoint"`
	KubernetesVersion    string `json:"kubernetesVersion"`
	NodeRegistration     struct {
		Name             string          `json:"name"`
		Taints           *[]corev1.Taint `json:"taints"`
		KubeletExtraArgs kubeletArgs     `json:"kubeletExtraArgs"`
	} `json:"nodeRegistration"`
	Discovery struct {
		BootstrapToken struct {
			APIServerEndpoint string `json:"apiServerEndpoint"`
			Token             string `json:"token"`
		} `json:"bootstrapToken"`
	} `json:"discovery"`
	ControlPlane *struct{} `json:"controlPlane"`
}

// kubeletArgs reads kubeletExtraArgs in both shapes kubeadm has used:
// v1beta4's list of {name, value} (a later entry wins, as the last flag
// does) and v1beta3's map.
type kubeletArgs map[string]string

func (a *kubeletArgs) UnmarshalJSON(data []byte) error {
	var list []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	if err := json.Unmarshal(data, &list); err == nil {
		*a = kubeletArgs{}
		for _, arg := range list {
			(*a)[arg.Name] = arg.Value
		}
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("kubeletExtraArgs is neither a list of {name, value} nor a map: %w", err)
	}
	*a = m
	return nil
}

// ProviderIDArg is the kubelet's provider-id flag: the only way a kubelet
// sets its node's spec.providerID itself.
func (b *Bootstrap) ProviderIDArg() string { return b.KubeletArgs["provider-id"] }

// ExternalCloudProvider says whether the kubelet runs with
// cloud-provider=external and so leaves its node to a cloud controller
// manager.
func (b *Bootstrap) ExternalCloudProvider() bool {
	return b.KubeletArgs["cloud-provider"] == "external"
}

// ParseBootstrap reads a booted instance's user data as cloud-init does:
// decompressed, rendered as a jinja template over the instance's
// metadata if it says so, then read as a cloud-config.
func ParseBootstrap(i Instance) (*Bootstrap, error) {
	userData := i.UserData
	if bytes.HasPrefix(userData, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(userData))
		if err != nil {
			return nil, fmt.Errorf("gzip user data: %w", err)
		}
		if userData, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("gzip user data: %w", err)
		}
	}
	userData = renderUserData(userData, instanceData(i))
	if !bytes.HasPrefix(userData, []byte("#cloud-config")) {
		return nil, ErrNotKubeadm
	}
	var cc cloudConfig
	if err := yaml.Unmarshal(userData, &cc); err != nil {
		return nil, fmt.Errorf("cloud-config: %w", err)
	}
	b := &Bootstrap{Files: map[string][]byte{}}
	for _, f := range cc.WriteFiles {
		content := []byte(f.Content)
		switch f.Encoding {
		case "", "text/plain":
		case "base64", "b64":
			dec, err := base64.StdEncoding.DecodeString(f.Content)
			if err != nil {
				return nil, fmt.Errorf("write_files %s: %w", f.Path, err)
			}
			content = dec
		default:
			// gzip encodings carry no kubeadm input CABPK writes.
			continue
		}
		b.Files[f.Path] = content
	}
	switch {
	case b.Files[initConfigPath] != nil:
		b.Role = Init
		for _, doc := range splitYAML(string(b.Files[initConfigPath])) {
			var d kubeadmDoc
			if err := yaml.Unmarshal([]byte(doc), &d); err != nil {
				return nil, fmt.Errorf("%s: %w", initConfigPath, err)
			}
			switch d.Kind {
			case "ClusterConfiguration":
				b.Endpoint, b.KubernetesVersion, b.ClusterConfiguration = d.ControlPlaneEndpoint, d.KubernetesVersion, doc
			case "InitConfiguration":
				b.NodeName, b.Taints, b.KubeletArgs = d.NodeRegistration.Name, d.NodeRegistration.Taints, d.NodeRegistration.KubeletExtraArgs
			}
		}
	case b.Files[joinConfigPath] != nil:
		for _, doc := range splitYAML(string(b.Files[joinConfigPath])) {
			var d kubeadmDoc
			if err := yaml.Unmarshal([]byte(doc), &d); err != nil {
				return nil, fmt.Errorf("%s: %w", joinConfigPath, err)
			}
			if d.Kind != "JoinConfiguration" {
				continue
			}
			b.Role = JoinWorker
			if d.ControlPlane != nil {
				b.Role = JoinControlPlane
			}
			b.Endpoint, b.Token = d.Discovery.BootstrapToken.APIServerEndpoint, d.Discovery.BootstrapToken.Token
			b.NodeName, b.Taints, b.KubeletArgs = d.NodeRegistration.Name, d.NodeRegistration.Taints, d.NodeRegistration.KubeletExtraArgs
		}
	default:
		return nil, ErrNotKubeadm
	}
	if b.Endpoint == "" {
		return nil, fmt.Errorf("kubeadm configuration names no API server endpoint")
	}
	return b, nil
}

// nodeName is the name kubeadm registers the node under, checked as
// kubeadm checks nodeRegistration.name: the configured name, else the
// machine's hostname, trimmed and lower-cased as kubeadm does.
func nodeName(b *Bootstrap, i Instance) (string, error) {
	name := b.NodeName
	if name == "" {
		name = i.hostname()
	}
	name = strings.ToLower(strings.TrimSpace(name))
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return "", fmt.Errorf("nodeRegistration.name: Invalid value: %q: %s", name, strings.Join(errs, "; "))
	}
	return name, nil
}

func splitYAML(s string) []string {
	var docs []string
	for _, d := range strings.Split("\n"+s, "\n---") {
		if strings.TrimSpace(d) != "" {
			docs = append(docs, strings.TrimPrefix(d, "\n"))
		}
	}
	return docs
}
