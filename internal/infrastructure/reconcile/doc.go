// Package reconcile is the skeleton that the reconcilers of every
// infrastructure provider share, whatever the cloud. A pass over an
// infrastructure cluster or machine starts alike (its Cluster, whether
// this process holds the cluster, pausing, the finalizer), runs phases in
// order, holds back the cloud calls of an object whose last pass failed,
// reports failures in conditions and events with a reason that says
// whether a retry may clear them, and patches what it changed. A cloud
// brings its phases and its errors: which of them no retry can clear
// (failure.PermanentError), and their text for a condition.
package reconcile
