package mgmt

import (
	"context"
	"time"

	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/controller-manager/pkg/informerfactory"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/controller/garbagecollector"
)

// gcResync is how often the garbage collector looks for new resources
// (CRDs installed after the start, such as Cluster API's).
const gcResync = 5 * time.Second

// runGarbageCollector runs kube-controller-manager's garbage collector in
// this process, as a real management cluster has it: objects owned by a
// deleted object (a Cluster's certificate and kubeconfig Secrets, say) go
// with it. It waits for the API server first and runs until ctx ends.
func runGarbageCollector(ctx context.Context, dir Dir) {
	logger := klog.FromContext(ctx).WithName("garbage-collector")
	if err := WaitReady(ctx, dir, 3*time.Minute, func() bool { return ctx.Err() == nil }); err != nil {
		logger.Error(err, "API server not ready; no garbage collection")
		return
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", dir.Kubeconfig())
	if err != nil {
		logger.Error(err, "loading the admin kubeconfig")
		return
	}
	cfg.QPS, cfg.Burst = 100, 200
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		logger.Error(err, "building a client")
		return
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		logger.Error(err, "building a metadata client")
		return
	}
	discovery := memory.NewMemCacheClient(client.Discovery())
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(discovery)
	factory := informerfactory.NewInformerFactory(informers.NewSharedInformerFactory(client, 0), metadatainformer.NewSharedInformerFactory(meta, 0))
	started := make(chan struct{})
	gc, err := garbagecollector.NewGarbageCollector(ctx, client, meta, mapper, garbagecollector.DefaultIgnoredResources(), factory, started)
	if err != nil {
		logger.Error(err, "starting the garbage collector")
		return
	}
	factory.Start(ctx.Done())
	close(started)
	go gc.Sync(ctx, client.Discovery(), gcResync)
	gc.Run(ctx, 5, 30*time.Second)
}
