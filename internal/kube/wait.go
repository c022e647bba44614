package kube

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// WaitForDeletion returns once obj no longer exists, watching it rather than
// polling. obj's namespace and name identify it; list is an empty list of
// the same kind. It gives up when ctx ends.
func WaitForDeletion(ctx context.Context, cl client.WithWatch, obj client.Object, list client.ObjectList) error {
	key := client.ObjectKeyFromObject(obj)
	for {
		if err := cl.Get(ctx, key, obj); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		}
		// Watching from the version just read means a deletion between
		// the Get and the Watch is still seen.
		w, err := cl.Watch(ctx, list, &client.ListOptions{
			Namespace:     key.Namespace,
			FieldSelector: fields.OneTermEqualSelector("metadata.name", key.Name),
			Raw:           &metav1.ListOptions{ResourceVersion: obj.GetResourceVersion()},
		})
		if err != nil {
			return err
		}
		deleted, err := untilDeleted(ctx, w)
		w.Stop()
		if err != nil {
			return fmt.Errorf("waiting for %s to be deleted: %w", key, err)
		}
		if deleted {
			return nil
		}
		// The watch ended early (a server timeout): look again.
	}
}

func untilDeleted(ctx context.Context, w watch.Interface) (bool, error) {
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok {
				return false, nil
			}
			switch ev.Type {
			case watch.Deleted:
				return true, nil
			case watch.Error:
				return false, apierrors.FromObject(ev.Object)
			}
		}
	}
}
