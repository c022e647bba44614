package controllers

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func instance(id, token string, state ec2types.InstanceStateName) ec2types.Instance {
	return ec2types.Instance{InstanceId: aws.String(id), ClientToken: aws.String(token), State: &ec2types.InstanceState{Name: state}}
}

func TestClusterInstancesShareOneFetch(t *testing.T) {
	var c clusterInstances
	var fetches atomic.Int32
	fetch := func(context.Context) ([]ec2types.Instance, error) {
		fetches.Add(1)
		time.Sleep(20 * time.Millisecond)
		return []ec2types.Instance{instance("i-1", "a", ec2types.InstanceStateNamePending)}, nil
	}
	since := time.Now()
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := c.list(t.Context(), "cluster", since, fetch)
			if err != nil || l.instance("i-1") == nil {
				t.Errorf("list: %v, %v", l, err)
			}
		}()
	}
	wg.Wait()
	if n := fetches.Load(); n != 1 {
		t.Fatalf("50 machines looking at once fetched %d times, want 1", n)
	}

	// A machine that read after that fetch gets a newer list.
	if _, err := c.list(t.Context(), "cluster", time.Now(), fetch); err != nil {
		t.Fatal(err)
	}
	if n := fetches.Load(); n != 2 {
		t.Fatalf("a look after the last fetch fetched %d times in all, want 2", n)
	}
	// Another cluster has a list of its own.
	if _, err := c.list(t.Context(), "other", since, fetch); err != nil {
		t.Fatal(err)
	}
	if n := fetches.Load(); n != 3 {
		t.Fatalf("another cluster's look fetched %d times in all, want 3", n)
	}
}

func TestClusterInstancesFailedFetchIsNotKept(t *testing.T) {
	var c clusterInstances
	calls := 0
	fetch := func(context.Context) ([]ec2types.Instance, error) {
		calls++
		if calls == 1 {
			return nil, errors.New("throttled")
		}
		return []ec2types.Instance{instance("i-1", "a", ec2types.InstanceStateNameRunning)}, nil
	}
	since := time.Now().Add(-time.Second)
	if _, err := c.list(t.Context(), "cluster", since, fetch); err == nil {
		t.Fatal("the failed fetch returned no error")
	}
	l, err := c.list(t.Context(), "cluster", since, fetch)
	if err != nil || l.instance("i-1") == nil {
		t.Fatalf("after a failed fetch: %v, %v; want the next fetch's list", l, err)
	}
}

func TestClusterInstancesTokenFindsTheLiveInstance(t *testing.T) {
	var c clusterInstances
	fetch := func(context.Context) ([]ec2types.Instance, error) {
		return []ec2types.Instance{
			instance("i-2", "b", ec2types.InstanceStateNameRunning),
			instance("i-1", "b", ec2types.InstanceStateNameTerminated),
			instance("i-3", "c", ec2types.InstanceStateNameTerminated),
		}, nil
	}
	l, err := c.list(t.Context(), "cluster", time.Now().Add(-time.Second), fetch)
	if err != nil {
		t.Fatal(err)
	}
	if i := l.live("b"); i == nil || aws.ToString(i.InstanceId) != "i-2" {
		t.Errorf("token b: %v, want the running i-2", i)
	}
	if i := l.live("c"); i != nil {
		t.Errorf("token c: %v, want none (its only instance is terminated)", aws.ToString(i.InstanceId))
	}
	if i := l.instance("i-3"); i == nil || i.State.Name != ec2types.InstanceStateNameTerminated {
		t.Errorf("i-3 by ID: %v, want the terminated instance", i)
	}
}
