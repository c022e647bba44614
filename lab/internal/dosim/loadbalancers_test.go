package dosim

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/digitalocean/godo"
)

// apiServerLB is a load balancer like Cluster API's for DigitalOcean: TCP
// 6443 to the control plane droplets, found by tag, with a TCP check.
func apiServerLB(tag string) *godo.LoadBalancerRequest {
	return &godo.LoadBalancerRequest{
		Name: "c1-apiserver-0e1f", Region: "nyc3", Tag: tag,
		ForwardingRules: []godo.ForwardingRule{{EntryProtocol: "tcp", EntryPort: 6443, TargetProtocol: "tcp", TargetPort: 6443}},
		HealthCheck: &godo.HealthCheck{Protocol: "tcp", Port: 6443, CheckIntervalSeconds: 10, ResponseTimeoutSeconds: 5,
			UnhealthyThreshold: 3, HealthyThreshold: 5},
	}
}

type healthLog struct {
	mu      sync.Mutex
	reports []string
}

func (h *healthLog) add(ip string, port int, healthy bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	state := "down"
	if healthy {
		state = "up"
	}
	h.reports = append(h.reports, ip+":"+itoa(port)+" "+state)
}

func (h *healthLog) get() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.reports...)
}

func TestLoadBalancerLifecycleAndHealth(t *testing.T) {
	l := newLab(t, Config{LoadBalancerDelay: time.Minute, LoadBalancerIPDelay: 20 * time.Second, HealthCheckTimeScale: 0.1})
	var health healthLog
	var deletedIPs []string
	l.sim.LoadBalancerAddress = func() string { return "127.7.0.1" }
	l.sim.OnLoadBalancerHealth = health.add
	l.sim.OnLoadBalancerDeleted = func(ip string) { deletedIPs = append(deletedIPs, ip) }

	lb, resp, err := l.client.LoadBalancers.Create(ctx, apiServerLB("c1:apiserver"))
	must(t, err)
	if resp.StatusCode != http.StatusAccepted || lb.Status != "new" || lb.IP != "" || lb.VPCUUID != l.sim.defaultVPC("nyc3").ID ||
		lb.Region.Slug != "nyc3" || lb.SizeUnit != 1 || lb.Algorithm != "round_robin" {
		t.Fatalf("%d %+v", resp.StatusCode, lb)
	}
	// The tag exists from now on, before any droplet carries it.
	_, _, err = l.client.Tags.Get(ctx, "c1:apiserver")
	must(t, err)
	_, err = l.client.LoadBalancers.AddDroplets(ctx, lb.ID, 1)
	mustStatus(t, err, http.StatusUnprocessableEntity)

	l.clock.Add(20 * time.Second)
	lb, _, err = l.client.LoadBalancers.Get(ctx, lb.ID)
	must(t, err)
	if lb.IP != "127.7.0.1" || lb.Status != "new" {
		t.Fatalf("after the IP delay: %+v", lb)
	}
	cp := l.createDroplet(t, godo.DropletCreateRequest{Name: "cp-0", Tags: []string{"c1:apiserver"}})
	l.createDroplet(t, godo.DropletCreateRequest{Name: "worker-0", Tags: []string{"c1:node"}})
	l.clock.Add(40 * time.Second)
	lb, _, err = l.client.LoadBalancers.Get(ctx, lb.ID)
	must(t, err)
	if lb.Status != "active" || len(health.get()) != 0 {
		t.Fatalf("active, but no droplet passed its checks yet: %+v %v", lb, health.get())
	}
	// healthy_threshold 5 x 10 s, at a tenth of real time: 5 s.
	l.clock.Add(5 * time.Second)
	_, _, err = l.client.LoadBalancers.Get(ctx, lb.ID)
	must(t, err)
	if got := health.get(); len(got) != 1 || got[0] != "127.7.0.1:6443 up" {
		t.Fatalf("health %v", got)
	}
	// The target leaves with its tag.
	must2(t)(l.client.Tags.UntagResources(ctx, "c1:apiserver", &godo.UntagResourcesRequest{
		Resources: []godo.Resource{{ID: itoa(cp.ID), Type: godo.DropletResourceType}}}))
	if got := health.get(); len(got) != 2 || got[1] != "127.7.0.1:6443 down" {
		t.Fatalf("health %v", got)
	}
	must2(t)(l.client.Tags.TagResources(ctx, "c1:apiserver", &godo.TagResourcesRequest{
		Resources: []godo.Resource{{ID: itoa(cp.ID), Type: godo.DropletResourceType}}}))
	l.clock.Add(5 * time.Second)
	_, _, err = l.client.LoadBalancers.Get(ctx, lb.ID)
	must(t, err)
	must2(t)(l.client.LoadBalancers.Delete(ctx, lb.ID))
	if got := health.get(); len(got) != 4 || got[2] != "127.7.0.1:6443 up" || got[3] != "127.7.0.1:6443 down" {
		t.Fatalf("health %v", got)
	}
	if len(deletedIPs) != 1 || deletedIPs[0] != "127.7.0.1" {
		t.Fatalf("deleted %v", deletedIPs)
	}
	_, _, err = l.client.LoadBalancers.Get(ctx, lb.ID)
	mustStatus(t, err, http.StatusNotFound)
}

// A health check that probes nothing the droplets serve never passes:
// the API's default (HTTP on port 80) in front of an API server on 6443.
func TestLoadBalancerDefaultHealthCheckNeverPasses(t *testing.T) {
	l := newLab(t, Config{HealthCheckTimeScale: 0.01})
	var health healthLog
	l.sim.OnLoadBalancerHealth = health.add
	req := apiServerLB("")
	req.Tag, req.HealthCheck = "", nil
	d := l.createDroplet(t, godo.DropletCreateRequest{Name: "cp-0"})
	req.DropletIDs = []int{d.ID}
	lb, _, err := l.client.LoadBalancers.Create(ctx, req)
	must(t, err)
	hc := lb.HealthCheck
	if hc.Protocol != "http" || hc.Port != 80 || hc.Path != "/" || hc.CheckIntervalSeconds != 10 || hc.ResponseTimeoutSeconds != 5 ||
		hc.UnhealthyThreshold != 5 || hc.HealthyThreshold != 3 {
		t.Fatalf("defaults %+v", hc)
	}
	l.clock.Add(time.Hour)
	lb, _, err = l.client.LoadBalancers.Get(ctx, lb.ID)
	must(t, err)
	if lb.Status != "active" || len(health.get()) != 0 {
		t.Fatalf("%s %v", lb.Status, health.get())
	}
	// Fixing the check with a full update makes the droplet healthy.
	req.HealthCheck = &godo.HealthCheck{Protocol: "tcp", Port: 6443}
	_, _, err = l.client.LoadBalancers.Update(ctx, lb.ID, req)
	must(t, err)
	l.clock.Add(time.Second)
	_, _, err = l.client.LoadBalancers.Get(ctx, lb.ID)
	must(t, err)
	if got := health.get(); len(got) != 1 || got[0] != lb.IP+":6443 up" {
		t.Fatalf("health %v", got)
	}
	// Removing the droplet stops the forwarding.
	must2(t)(l.client.LoadBalancers.RemoveDroplets(ctx, lb.ID, d.ID))
	if got := health.get(); len(got) != 2 {
		t.Fatalf("health %v", got)
	}
}

func TestLoadBalancerRefusals(t *testing.T) {
	l := newLab(t, Config{})
	d := l.createDroplet(t, godo.DropletCreateRequest{Name: "a"})
	far := l.createDroplet(t, godo.DropletCreateRequest{Name: "b", Region: "fra1"})
	other, _, err := l.client.VPCs.Create(ctx, &godo.VPCCreateRequest{Name: "other", RegionSlug: "nyc3"})
	must(t, err)
	for name, change := range map[string]func(*godo.LoadBalancerRequest){
		"droplet IDs and a tag": func(r *godo.LoadBalancerRequest) { r.DropletIDs = []int{d.ID} },
		"no forwarding rules":   func(r *godo.LoadBalancerRequest) { r.ForwardingRules = nil },
		"tcp to http":           func(r *godo.LoadBalancerRequest) { r.ForwardingRules[0].TargetProtocol = "http" },
		"https without cert": func(r *godo.LoadBalancerRequest) {
			r.ForwardingRules[0].EntryProtocol, r.ForwardingRules[0].TargetProtocol = "https", "http"
		},
		"entry port 0":             func(r *godo.LoadBalancerRequest) { r.ForwardingRules[0].EntryPort = 70000 },
		"check interval too short": func(r *godo.LoadBalancerRequest) { r.HealthCheck.CheckIntervalSeconds = 2 },
		"healthy threshold 11":     func(r *godo.LoadBalancerRequest) { r.HealthCheck.HealthyThreshold = 11 },
		"unknown protocol":         func(r *godo.LoadBalancerRequest) { r.HealthCheck.Protocol = "grpc" },
		"unknown region":           func(r *godo.LoadBalancerRequest) { r.Region = "mars1" },
		"size and size unit":       func(r *godo.LoadBalancerRequest) { r.SizeSlug, r.SizeUnit = "lb-small", 2 },
		"size unit 101":            func(r *godo.LoadBalancerRequest) { r.SizeUnit = 101 },
		"unknown VPC":              func(r *godo.LoadBalancerRequest) { r.VPCUUID = newUUID() },
		"bad name":                 func(r *godo.LoadBalancerRequest) { r.Name = "c1 api" },
		"droplet of another region": func(r *godo.LoadBalancerRequest) {
			r.Tag, r.DropletIDs = "", []int{far.ID}
		},
		"droplet of another VPC": func(r *godo.LoadBalancerRequest) {
			r.Tag, r.DropletIDs, r.VPCUUID = "", []int{d.ID}, other.ID
		},
		"bad firewall rule": func(r *godo.LoadBalancerRequest) { r.Firewall = &godo.LBFirewall{Allow: []string{"host:1.2.3.4"}} },
	} {
		req := apiServerLB("c1:apiserver")
		change(req)
		_, _, err := l.client.LoadBalancers.Create(ctx, req)
		if statusOf(err) != http.StatusUnprocessableEntity {
			t.Errorf("%s: %v", name, err)
		}
	}
	lb, _, err := l.client.LoadBalancers.Create(ctx, apiServerLB("c1:apiserver"))
	must(t, err)
	moved := apiServerLB("c1:apiserver")
	moved.Region = "fra1"
	_, _, err = l.client.LoadBalancers.Update(ctx, lb.ID, moved)
	mustStatus(t, err, http.StatusUnprocessableEntity)
	must2(t)(l.client.LoadBalancers.AddForwardingRules(ctx, lb.ID, godo.ForwardingRule{EntryProtocol: "tcp", EntryPort: 22623, TargetProtocol: "tcp", TargetPort: 22623}))
	_, err = l.client.LoadBalancers.AddForwardingRules(ctx, lb.ID, godo.ForwardingRule{EntryProtocol: "tcp", EntryPort: 6443, TargetProtocol: "tcp", TargetPort: 7443})
	mustStatus(t, err, http.StatusUnprocessableEntity)
	byName, _, err := l.client.LoadBalancers.ListByNames(ctx, []string{"c1-apiserver-0e1f"}, nil)
	must(t, err)
	if len(byName) != 1 || len(byName[0].ForwardingRules) != 2 {
		t.Fatalf("%+v", byName)
	}
}

// Without any call, the simulator's own timer boots droplets and tells
// the lab when a load balancer starts forwarding.
func TestTimersFireWithoutCalls(t *testing.T) {
	sim := New(Config{BootDelay: 20 * time.Millisecond, LoadBalancerDelay: 30 * time.Millisecond, HealthCheckTimeScale: 0.001})
	booted := make(chan Droplet, 1)
	up := make(chan string, 1)
	sim.OnDropletActive = func(d Droplet) { booted <- d }
	sim.OnLoadBalancerHealth = func(ip string, port int, healthy bool) {
		if healthy {
			up <- ip
		}
	}
	srv := newServer(t, sim)
	client := newClient(t, srv+"/")
	_, _, err := client.LoadBalancers.Create(ctx, apiServerLB("cp"))
	must(t, err)
	_, _, err = client.Droplets.Create(ctx, &godo.DropletCreateRequest{Name: "cp-0", Region: "nyc3", Size: "s-1vcpu-1gb", Image: ubuntu, Tags: []string{"cp"}})
	must(t, err)
	for _, ch := range []<-chan struct{}{wait(booted), wait(up)} {
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatal("no event without a call")
		}
	}
}

func wait[T any](ch <-chan T) <-chan struct{} {
	done := make(chan struct{})
	go func() { <-ch; close(done) }()
	return done
}
