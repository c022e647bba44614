package cloud

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/digitalocean/godo"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/api/v1alpha1"
)

// UserDataLimit is DigitalOcean's limit on a droplet's user data.
const UserDataLimit = 64 * 1024

// Droplet statuses.
const (
	DropletNew     = "new"
	DropletActive  = "active"
	DropletOff     = "off"
	DropletArchive = "archive"
)

// DropletSpec is a droplet to make for a Machine.
type DropletSpec struct {
	Cluster Cluster
	// Name is the Machine's: it becomes the droplet's host name.
	Name string
	// MachineUID is the DOMachine's UID, for its MachineTag.
	MachineUID   string
	ControlPlane bool
	Size         string
	// Image is a slug or a numeric ID.
	Image string
	// SSHKeys are numeric IDs or fingerprints.
	SSHKeys    []string
	Tags       []string
	Monitoring bool
	VPCUUID    string
	UserData   []byte
}

// DropletTags are the tags of spec's droplet: the cluster's (the firewall
// applies by it), the control plane's (the load balancer sends by it), the
// machine's (the droplet is found by it), and the spec's own.
func DropletTags(spec DropletSpec) []string {
	tags := []string{spec.Cluster.Tag()}
	if spec.ControlPlane {
		tags = append(tags, spec.Cluster.ControlPlaneTag())
	}
	return union(append(tags, MachineTag(spec.MachineUID)), spec.Tags)
}

// FindDroplet returns the droplet with id, or nil when there is none.
func (c *Client) FindDroplet(ctx context.Context, id int) (*godo.Droplet, error) {
	d, _, err := c.godo.Droplets.Get(ctx, id)
	if IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading droplet %d: %w", id, err)
	}
	return d, nil
}

// FindDropletsByTag returns the droplets with tag, oldest (lowest ID)
// first. For a MachineTag that is one droplet, or more when creates
// answered with errors were repeated by something other than this
// package: the first is the Machine's, the others are to delete.
func (c *Client) FindDropletsByTag(ctx context.Context, tag string) ([]godo.Droplet, error) {
	droplets, err := listAll(ctx, func(ctx context.Context, opt *godo.ListOptions) ([]godo.Droplet, *godo.Response, error) {
		return c.godo.Droplets.ListByTag(ctx, tag, opt)
	})
	if err != nil {
		return nil, fmt.Errorf("listing the droplets tagged %s: %w", tag, err)
	}
	// The filter is the API's; the check is for a list that ignored it.
	droplets = slices.DeleteFunc(droplets, func(d godo.Droplet) bool { return !slices.Contains(d.Tags, tag) })
	slices.SortFunc(droplets, func(a, b godo.Droplet) int { return a.ID - b.ID })
	return droplets, nil
}

// CreateDroplet makes spec's droplet. The request is sent once: when it
// fails, the caller looks for the droplet by its MachineTag before it
// creates again.
func (c *Client) CreateDroplet(ctx context.Context, spec DropletSpec) (*godo.Droplet, error) {
	if len(spec.UserData) > UserDataLimit {
		return nil, permanent(infrav1.UserDataTooLargeReason, "bootstrap data is %d bytes, more than DigitalOcean's limit of %d on user data",
			len(spec.UserData), UserDataLimit)
	}
	req := &godo.DropletCreateRequest{
		Name: spec.Name, Region: spec.Cluster.Region, Size: spec.Size, Image: dropletImage(spec.Image),
		SSHKeys: sshKeys(spec.SSHKeys), Monitoring: spec.Monitoring, UserData: string(spec.UserData),
		Tags: DropletTags(spec), VPCUUID: spec.VPCUUID,
		// Droplets in a VPC always have a private address; the flag is
		// what older API versions asked for.
		PrivateNetworking: true,
	}
	d, _, err := c.godo.Droplets.Create(withoutResend(ctx), req)
	if err != nil {
		return nil, fmt.Errorf("creating droplet %s: %w", spec.Name, err)
	}
	return d, nil
}

// dropletImage is an image by numeric ID, or else by slug.
func dropletImage(image string) godo.DropletCreateImage {
	if id, err := strconv.Atoi(image); err == nil {
		return godo.DropletCreateImage{ID: id}
	}
	return godo.DropletCreateImage{Slug: image}
}

// sshKeys are keys by numeric ID, or else by fingerprint.
func sshKeys(keys []string) []godo.DropletCreateSSHKey {
	out := make([]godo.DropletCreateSSHKey, 0, len(keys))
	for _, k := range keys {
		if id, err := strconv.Atoi(k); err == nil {
			out = append(out, godo.DropletCreateSSHKey{ID: id})
		} else {
			out = append(out, godo.DropletCreateSSHKey{Fingerprint: k})
		}
	}
	return out
}

// DeleteDroplet deletes a droplet; one already gone is fine. The droplet
// goes some time after.
func (c *Client) DeleteDroplet(ctx context.Context, id int) error {
	if _, err := c.godo.Droplets.Delete(ctx, id); err != nil && !IsNotFound(err) {
		return fmt.Errorf("deleting droplet %d: %w", id, err)
	}
	return nil
}

// DeleteMachineTag deletes the tag of a DOMachine whose droplets are gone.
func (c *Client) DeleteMachineTag(ctx context.Context, uid string) error {
	return c.deleteTag(ctx, MachineTag(uid))
}

// Addresses are a droplet's private and public IPv4 addresses ("" when
// not assigned yet).
func Addresses(d *godo.Droplet) (private, public string) {
	if d.Networks == nil {
		return "", ""
	}
	for _, v4 := range d.Networks.V4 {
		switch v4.Type {
		case "private":
			if private == "" {
				private = v4.IPAddress
			}
		case "public":
			if public == "" {
				public = v4.IPAddress
			}
		}
	}
	return private, public
}
