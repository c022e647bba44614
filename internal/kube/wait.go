package kube

import (
	"context"
	"fmt"
	"reflect"

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
	err := watchObject(ctx, cl, obj, list, func(exists bool) (bool, error) { return !exists, nil })
	if err != nil {
		return fmt.Errorf("waiting for %s to be deleted: %w", client.ObjectKeyFromObject(obj), err)
	}
	return nil
}

// WaitFor returns once cond holds for obj, which it keeps up to date,
// watching rather than polling. cond's error ends the wait. A deleted
// object is an error.
func WaitFor(ctx context.Context, cl client.WithWatch, obj client.Object, list client.ObjectList, cond func() (bool, error)) error {
	return watchObject(ctx, cl, obj, list, func(exists bool) (bool, error) {
		if !exists {
			return false, fmt.Errorf("%s was deleted", client.ObjectKeyFromObject(obj))
		}
		return cond()
	})
}

// watchObject reads obj, then watches it from the version read, calling
// done after every change with whether the object exists.
func watchObject(ctx context.Context, cl client.WithWatch, obj client.Object, list client.ObjectList, done func(exists bool) (bool, error)) error {
	key := client.ObjectKeyFromObject(obj)
	for {
		err := cl.Get(ctx, key, obj)
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		if ok, cerr := done(err == nil); cerr != nil || ok {
			return cerr
		}
		if err != nil {
			// Gone, and done says keep waiting: nothing to watch.
			return fmt.Errorf("%s does not exist", key)
		}
		// Watching from the version just read means a change between the
		// Get and the Watch is still seen.
		w, err := cl.Watch(ctx, list, &client.ListOptions{
			Namespace:     key.Namespace,
			FieldSelector: fields.OneTermEqualSelector("metadata.name", key.Name),
			Raw:           &metav1.ListOptions{ResourceVersion: obj.GetResourceVersion()},
		})
		if err != nil {
			return err
		}
		ok, err := untilDone(ctx, w, obj, done)
		w.Stop()
		if err != nil || ok {
			return err
		}
		// The watch ended early (a server timeout): read again.
	}
}

func untilDone(ctx context.Context, w watch.Interface, obj client.Object, done func(exists bool) (bool, error)) (bool, error) {
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
				return done(false)
			case watch.Error:
				return false, apierrors.FromObject(ev.Object)
			case watch.Added, watch.Modified:
				// The event carries the new version of the object.
				newObj := reflect.ValueOf(ev.Object)
				if newObj.Type() != reflect.TypeOf(obj) {
					return false, nil
				}
				reflect.ValueOf(obj).Elem().Set(newObj.Elem())
				if ok, err := done(true); err != nil || ok {
					return ok, err
				}
			}
		}
	}
}
