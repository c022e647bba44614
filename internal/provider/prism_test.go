package provider

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// With CAPI_DO_PRISM (Stoplight Prism's binary, lab/scripts/prism.sh
// installs it) and CAPI_DO_OPENAPI (DigitalOcean's OpenAPI description),
// the provider reaches the lab's DigitalOcean API through Prism's
// validating proxy: every request the reconcilers send and every answer
// they get is checked against DigitalOcean's own description of its API,
// and a test that made or got one that breaks it fails. `make testacc`
// sets both.

// validatingProxy is Prism's proxy in front of the lab's DigitalOcean API,
// one per test binary.
var validatingProxy struct {
	once sync.Once
	url  string
	err  error
	log  *prismLog
	cmd  *exec.Cmd
}

// throughPrism returns the URL the provider should use for the lab's
// DigitalOcean API at url: Prism's proxy when configured, else url. Each
// test that uses it fails on the violations Prism logs while it runs.
func throughPrism(t *testing.T, url string) string {
	t.Helper()
	prism, spec := os.Getenv("CAPI_DO_PRISM"), os.Getenv("CAPI_DO_OPENAPI")
	if prism == "" && spec == "" {
		return url
	}
	if prism == "" || spec == "" {
		t.Fatal("CAPI_DO_PRISM and CAPI_DO_OPENAPI go together: Prism's binary and DigitalOcean's OpenAPI description")
	}
	p := &validatingProxy
	p.once.Do(func() { p.url, p.err = startPrism(prism, spec, strings.TrimSuffix(url, "/")) })
	if p.err != nil {
		t.Fatal(p.err)
	}
	from := p.log.len()
	t.Cleanup(func() {
		// Prism logs a violation just after it answers.
		time.Sleep(500 * time.Millisecond)
		if v := p.log.violations(from); len(v) > 0 {
			t.Errorf("%d requests or answers break DigitalOcean's OpenAPI description:\n%s", len(v), strings.Join(v, "\n"))
			return
		}
		t.Logf("Prism checked this test's DigitalOcean calls (%d lines of its log): no violation", p.log.len()-from)
	})
	return p.url
}

func startPrism(prism, spec, upstream string) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	cmd := exec.Command(prism, "proxy", spec, upstream, "--errors", "-h", "127.0.0.1", "-p", fmt.Sprint(port))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return "", err
	}
	validatingProxy.cmd, validatingProxy.log = cmd, &prismLog{}
	go validatingProxy.log.read(out)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	// The description takes some 20 s to load.
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			_ = c.Close()
			return "http://" + addr + "/", nil
		}
	}
	_ = cmd.Process.Kill()
	return "", fmt.Errorf("Prism never listened on %s:\n%s", addr, validatingProxy.log.text())
}

// stopPrism ends the proxy, if one runs.
func stopPrism() {
	if c := validatingProxy.cmd; c != nil && c.Process != nil {
		_ = c.Process.Kill()
		_ = c.Wait()
	}
}

// prismLog keeps Prism's output.
type prismLog struct {
	mu    sync.Mutex
	lines []string
}

var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;]*m`)

func (p *prismLog) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		p.mu.Lock()
		p.lines = append(p.lines, ansiEscape.ReplaceAllString(sc.Text(), ""))
		p.mu.Unlock()
	}
}

func (p *prismLog) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.lines)
}

func (p *prismLog) text() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// violations are the lines since from that report a request or an answer
// that breaks the description.
func (p *prismLog) violations(from int) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, l := range p.lines[from:] {
		if strings.Contains(l, "Violation:") || strings.Contains(l, "[VALIDATOR]") || strings.Contains(l, "✖") {
			out = append(out, l)
		}
	}
	return out
}
