package controllers

import (
	"context"
	"fmt"
	"time"

	"github.com/digitalocean/godo"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/bootstrapdata"
	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/cloud"
)

// storeBootstrapData stores the bootstrap data in the cluster's Spaces
// bucket (made if need be) and returns the user data that fetches it (see
// cloud.BoothookUserData). Where it goes is recorded on the DOMachine
// before it is stored: a process that dies in between leaves nothing its
// successor (or the delete) cannot find. What an earlier attempt stored
// stays until the machine has its node (deleteBootstrapData takes every
// attempt): a create answered with an error may have made a droplet all
// the same, which findDroplet finds later and keeps, and which reads the
// earlier attempt's object.
func (r *DOMachineReconciler) storeBootstrapData(ctx context.Context, s *machineScope, data []byte) ([]byte, error) {
	m := s.doMachine
	gz, err := bootstrapdata.Gzip(data)
	if err != nil {
		return nil, fmt.Errorf("compressing bootstrap data: %w", err)
	}
	region := s.doCluster.SpacesRegion()
	spaces, err := s.cloud.Spaces(region)
	if err != nil {
		return nil, err
	}
	bucket := cloud.BootstrapBucket(string(s.doCluster.UID))
	if err := spaces.EnsureBucket(ctx, bucket); err != nil {
		return nil, err
	}
	key := cloud.BootstrapObjectKey(string(m.UID), rand.String(6))
	// In the status: a status patch starts no new reconcile, and the
	// backoff of a machine whose droplet DigitalOcean refuses holds.
	recorded := m.DeepCopy()
	before := recorded.DeepCopy()
	recorded.Status.BootstrapData = infrav1.BootstrapDataStatus{Bucket: bucket, Region: region, Key: key}
	if err := r.Client.Status().Patch(ctx, recorded, client.MergeFrom(before)); err != nil {
		return nil, fmt.Errorf("recording where the bootstrap data goes: %w", err)
	}
	m.Status.BootstrapData = recorded.Status.BootstrapData
	if err := spaces.PutBootstrapData(ctx, bucket, key, gz); err != nil {
		return nil, err
	}
	get, del, err := spaces.PresignBootstrapData(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	r.passes.Recorder.Eventf(m, corev1.EventTypeNormal, "BootstrapDataStored",
		"Bootstrap data stored in Spaces as %s/%s; the droplet deletes it once read, its URLs expire in %s", bucket, key, cloud.PresignedURLLifetime)
	return cloud.BoothookUserData(get, del)
}

// deleteBootstrapData deletes what is left of the stored bootstrap data.
// It deletes every attempt of the machine, so that an object stored by a
// pass whose record was lost goes too.
func (r *DOMachineReconciler) deleteBootstrapData(ctx context.Context, s *machineScope) error {
	bd := &s.doMachine.Status.BootstrapData
	if bd.Key == "" {
		return nil
	}
	spaces, err := s.cloud.Spaces(bd.Region)
	if err != nil {
		return err
	}
	if err := spaces.DeleteBootstrapData(ctx, bd.Bucket, cloud.MachineBootstrapPrefix(string(s.doMachine.UID))); err != nil {
		return err
	}
	bd.Key = ""
	return nil
}

// bootstrapDataLeft says whether the DOMachine's stored bootstrap data
// is for no one any more: the Machine has its node, its droplet no longer
// boots, or the droplet was made longer ago than the URLs last (nothing
// can read the objects then). The droplet deletes the object it reads
// itself; this catches a droplet that did not get so far, and the objects
// of earlier attempts.
func bootstrapDataLeft(s *machineScope, d *godo.Droplet, now time.Time) bool {
	if s.doMachine.Status.BootstrapData.Key == "" {
		return false
	}
	if d.Status != cloud.DropletNew && d.Status != cloud.DropletActive || s.machine.Status.NodeRef.IsDefined() {
		return true
	}
	created, err := time.Parse(time.RFC3339, d.Created)
	return err == nil && now.Sub(created) > cloud.PresignedURLLifetime
}

// deleteBootstrapDataOnDelete deletes what is left of the stored
// bootstrap data of a DOMachine being deleted, before its droplet.
func (r *DOMachineReconciler) deleteBootstrapDataOnDelete(ctx context.Context, s *machineScope) (ctrl.Result, error) {
	if err := r.deleteBootstrapData(ctx, s); err != nil {
		return ctrl.Result{}, r.failed(s.doMachine, "DeleteFailed", infrav1.DeletePermanentFailureReason, "deleting the bootstrap data", err)
	}
	return ctrl.Result{}, nil
}
