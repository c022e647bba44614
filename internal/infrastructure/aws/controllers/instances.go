package controllers

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// clusterInstances batches the instance lookups of a cluster's
// AWSMachines: one DescribeInstances of every instance of the cluster
// answers each machine that looks at about the same time, instead of one
// call per machine every pendingRequeue. A deployment of 100 booting
// workers made some 6 calls per machine before; now the cluster makes one
// per pendingRequeue whatever its size.
//
// A machine asks for a list fetched after its own last look (since), so
// it never reads older news than it had; machines requeued at about the
// same time share the list the first of them fetched.
type clusterInstances struct {
	mu        sync.Mutex
	byCluster map[string]*instanceList
}

// instanceList is one cluster's instances as one DescribeInstances saw them.
type instanceList struct {
	// fetching is held while the list is fetched: a machine that wants a
	// fresher list waits for the one in flight and then finds it fresh.
	fetching sync.Mutex
	// at is when the fetch of the list began: what EC2 said then or later.
	at      time.Time
	byID    map[string]*ec2types.Instance
	byToken map[string]*ec2types.Instance
}

// firstLookWindow is how old a list may be for a machine that has not
// looked yet (new, or this process is new): the machines of a new
// deployment share one.
const firstLookWindow = time.Second

// listKept is how long a list no machine asked for is kept.
const listKept = 10 * instanceCheckInterval

// list returns the instances of cluster key as seen at since or later,
// fetching them when the list held is older.
func (c *clusterInstances) list(ctx context.Context, key string, since time.Time,
	fetch func(context.Context) ([]ec2types.Instance, error)) (*instanceList, error) {
	c.mu.Lock()
	if c.byCluster == nil {
		c.byCluster = map[string]*instanceList{}
	}
	now := time.Now()
	for k, old := range c.byCluster {
		// Every live cluster's machines look at least every
		// instanceCheckInterval; an older list is a gone cluster's.
		if k != key && now.Sub(old.at) > listKept {
			delete(c.byCluster, k)
		}
	}
	l, ok := c.byCluster[key]
	if !ok {
		l = &instanceList{}
		c.byCluster[key] = l
	}
	c.mu.Unlock()

	l.fetching.Lock()
	defer l.fetching.Unlock()
	if l.at.After(since) {
		return l.snapshot(), nil
	}
	at := time.Now()
	instances, err := fetch(ctx)
	if err != nil {
		return nil, err
	}
	l.at, l.byID, l.byToken = at, map[string]*ec2types.Instance{}, map[string]*ec2types.Instance{}
	for i := range instances {
		in := &instances[i]
		l.byID[aws.ToString(in.InstanceId)] = in
		// A token is kept by the live instance it started, if any: a
		// terminated instance's token may have started a later one.
		if t := aws.ToString(in.ClientToken); t != "" && (l.byToken[t] == nil || in.State.Name != ec2types.InstanceStateNameTerminated) {
			l.byToken[t] = in
		}
	}
	return l.snapshot(), nil
}

// snapshot is a copy of the list's header; the maps are replaced, never
// changed, after a fetch, so the copy may be read without the lock.
func (l *instanceList) snapshot() *instanceList {
	return &instanceList{at: l.at, byID: l.byID, byToken: l.byToken}
}

// instance returns a copy of the instance with id, or nil: callers change
// what they are given.
func (l *instanceList) instance(id string) *ec2types.Instance {
	if i := l.byID[id]; i != nil {
		c := *i
		return &c
	}
	return nil
}

// live returns a copy of the live instance started with token, or nil.
func (l *instanceList) live(token string) *ec2types.Instance {
	if i := l.byToken[token]; i != nil && i.State.Name != ec2types.InstanceStateNameTerminated {
		c := *i
		return &c
	}
	return nil
}
