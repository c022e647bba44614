package dosim

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestOpenAPIConformance runs the scenarios through Prism's validating
// proxy of DigitalOcean's OpenAPI description, in front of the
// simulator: every request godo sends and every answer the simulator
// gives must match the description. It needs Prism (DOSIM_PRISM, the
// prism binary; lab/scripts/prism.sh installs it) and the description
// (DOSIM_OPENAPI, DigitalOcean-public.v2.yaml); it is skipped without
// them.
func TestOpenAPIConformance(t *testing.T) {
	prism, spec := os.Getenv("DOSIM_PRISM"), os.Getenv("DOSIM_OPENAPI")
	if prism == "" || spec == "" {
		t.Skip("DOSIM_PRISM and DOSIM_OPENAPI name Prism and DigitalOcean's OpenAPI description")
	}
	sim := New(Config{})
	upstream := httptest.NewServer(sim)
	defer upstream.Close()
	port := freePort(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, prism, "proxy", spec, upstream.URL, "--errors", "-h", "127.0.0.1", "-p", fmt.Sprint(port))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	log := &prismLog{}
	go log.read(out)

	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prism never listened on %s:\n%s", addr, log.text())
		}
	}
	client := newClient(t, "http://"+addr+"/")
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, client) })
	}
	// Prism logs every violation, also those --errors lets through.
	time.Sleep(500 * time.Millisecond)
	if v := log.violations(); len(v) > 0 {
		t.Fatalf("%d violations of the OpenAPI description:\n%s", len(v), strings.Join(v, "\n"))
	}
	if t.Failed() {
		t.Logf("Prism's log:\n%s", log.text())
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// prismLog keeps Prism's output.
type prismLog struct {
	mu    sync.Mutex
	lines []string
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;]*m`)

func (p *prismLog) read(r interface{ Read([]byte) (int, error) }) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		p.mu.Lock()
		p.lines = append(p.lines, ansi.ReplaceAllString(sc.Text(), ""))
		p.mu.Unlock()
	}
}

func (p *prismLog) text() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// violations are the lines that report a request or response that
// breaks the description.
func (p *prismLog) violations() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, l := range p.lines {
		if strings.Contains(l, "Violation:") || strings.Contains(l, "[VALIDATOR]") || strings.Contains(l, "✖") {
			out = append(out, l)
		}
	}
	return out
}
