package workload

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	inmemoryruntime "sigs.k8s.io/cluster-api/test/infrastructure/inmemory/pkg/runtime"
	inmemoryapi "sigs.k8s.io/cluster-api/test/infrastructure/inmemory/pkg/server/api"
	inmemoryetcd "sigs.k8s.io/cluster-api/test/infrastructure/inmemory/pkg/server/etcd"
	"sigs.k8s.io/cluster-api/util/certs"
)

// apiServer serves one simulated workload cluster at its control plane
// endpoint: the Kubernetes API and, for connections whose TLS server name
// is an etcd member's pod (what Cluster API's etcd client sends through
// a port-forward), that member's etcd API. The simulator starts and
// stops it as the load balancer in front would forward (see serve).
type apiServer struct {
	endpoint string
	handler  http.Handler
	server   *http.Server
	// admits, when set, says whether a client at a source address gets
	// through the load balancer's firewall; the others' connections are
	// closed as soon as they are made.
	admits func(source string) bool

	mu        sync.Mutex
	listener  net.Listener
	serving   *tls.Certificate
	etcdCerts map[string]*tls.Certificate
	etcdCA    ca
}

type ca struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newAPIServer(mgr inmemoryruntime.Manager, log logr.Logger, endpoint, resourceGroup string, clusterCA, etcdCA ca) (*apiServer, error) {
	host, _, err := net.SplitHostPort(endpoint)
	if err != nil {
		return nil, err
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("endpoint %s is not a loopback address: the lab serves workload clusters on loopback only", endpoint)
	}
	serving, err := signedPair(clusterCA, &certs.Config{
		CommonName: "kube-apiserver",
		AltNames: certs.AltNames{
			DNSNames: []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "localhost"},
			IPs:      []net.IP{ip},
		},
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return nil, err
	}
	s := &apiServer{endpoint: endpoint, serving: serving, etcdCerts: map[string]*tls.Certificate{}, etcdCA: etcdCA}
	// One workload cluster per server: every request resolves to its
	// resource group.
	resolve := func(string) (string, error) { return resourceGroup, nil }
	api := inmemoryapi.NewAPIServerHandler(mgr, log, resolve)
	etcd := inmemoryetcd.NewEtcdServerHandler(mgr, log, resolve)
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			etcd.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
	return s, nil
}

func (s *apiServer) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.etcdCerts[hello.ServerName]; ok {
		return c, nil
	}
	return s.serving, nil
}

// addEtcdMember gives the member's pod its own serving certificate from
// the etcd CA.
func (s *apiServer) addEtcdMember(pod string) error {
	host, _, _ := net.SplitHostPort(s.endpoint)
	pair, err := signedPair(s.etcdCA, &certs.Config{
		CommonName: pod,
		AltNames:   certs.AltNames{DNSNames: []string{"localhost", pod}, IPs: []net.IP{net.ParseIP(host), net.IPv4(127, 0, 0, 1)}},
		Usages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.etcdCerts[pod] = pair
	return nil
}

func (s *apiServer) removeEtcdMember(pod string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.etcdCerts, pod)
}

// start listens at the endpoint if it is not listening yet.
func (s *apiServer) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener != nil {
		return nil
	}
	l, err := net.Listen("tcp", s.endpoint)
	if err != nil {
		return fmt.Errorf("workload API server at %s: %w", s.endpoint, err)
	}
	if s.admits != nil {
		l = firewalled{Listener: l, admits: s.admits}
	}
	// A stopped http.Server cannot serve again: each start has its own.
	s.listener = l
	s.server = &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler:           s.handler,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.certificate},
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func(srv *http.Server) { _ = srv.ServeTLS(l, "", "") }(s.server)
	return nil
}

// firewalled is a listener behind a load balancer's firewall. A real one
// drops the packets of a source it does not admit, and the client's
// connection times out; closing it at once fails the same clients sooner.
type firewalled struct {
	net.Listener
	admits func(source string) bool
}

func (l firewalled) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if host, _, err := net.SplitHostPort(c.RemoteAddr().String()); err == nil && l.admits(host) {
			return c, nil
		}
		_ = c.Close()
	}
}

// stop closes the listener and every open connection (watches included),
// as when the last control plane machine goes.
func (s *apiServer) stop() {
	s.mu.Lock()
	l, srv := s.listener, s.server
	s.listener, s.server = nil, nil
	s.mu.Unlock()
	if l == nil {
		return
	}
	_ = l.Close()
	_ = srv.Close()
}

func signedPair(issuer ca, cfg *certs.Config) (*tls.Certificate, error) {
	key, err := certs.NewPrivateKey()
	if err != nil {
		return nil, err
	}
	cert, err := cfg.NewSignedCert(key, issuer.cert, issuer.key)
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", cfg.CommonName, err)
	}
	pair, err := tls.X509KeyPair(certs.EncodeCertPEM(cert), certs.EncodePrivateKeyPEM(key))
	if err != nil {
		return nil, err
	}
	return &pair, nil
}

func parseCA(certPEM, keyPEM []byte) (ca, error) {
	if certPEM == nil || keyPEM == nil {
		return ca{}, errors.New("missing certificate or key")
	}
	cert, err := certs.DecodeCertPEM(certPEM)
	if err != nil {
		return ca{}, err
	}
	key, err := certs.DecodePrivateKeyPEM(keyPEM)
	if err != nil {
		return ca{}, err
	}
	return ca{cert: cert, key: key}, nil
}
