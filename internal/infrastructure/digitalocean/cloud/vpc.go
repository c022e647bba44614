package cloud

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/digitalocean/godo"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/api/v1alpha1"
)

// vpcName is the name of the VPC made for the cluster.
func vpcName(cl Cluster, spec infrav1.VPCSpec) string {
	if spec.Name != "" {
		return spec.Name
	}
	return cl.VPCName()
}

// EnsureVPC returns the cluster's VPC: the existing one of spec.vpcUUID, or
// the one made for the cluster, which it makes when there is none yet, and
// says whether it made it now. VPC names are unique in an account, so a
// VPC made by a create answered with an error is found by its name.
func (c *Client) EnsureVPC(ctx context.Context, cl Cluster, spec infrav1.VPCSpec) (*godo.VPC, bool, error) {
	if spec.VPCUUID != "" {
		vpc, _, err := c.godo.VPCs.Get(ctx, spec.VPCUUID)
		if IsNotFound(err) {
			return nil, false, permanent("", "VPC %s does not exist", spec.VPCUUID)
		}
		if err != nil {
			return nil, false, fmt.Errorf("reading VPC %s: %w", spec.VPCUUID, err)
		}
		if vpc.RegionSlug != cl.Region {
			return nil, false, permanent("", "VPC %s is in region %s, not in the cluster's region %s", vpc.ID, vpc.RegionSlug, cl.Region)
		}
		return vpc, false, nil
	}
	name := vpcName(cl, spec)
	vpc, err := c.findOwnedVPCByName(ctx, cl, name)
	if err != nil || vpc != nil {
		return vpc, false, err
	}
	vpc, _, err = c.godo.VPCs.Create(withoutResend(ctx), &godo.VPCCreateRequest{
		Name: name, RegionSlug: cl.Region, Description: cl.description(), IPRange: spec.IPRange})
	if err != nil {
		return nil, false, fmt.Errorf("creating VPC %s: %w", name, err)
	}
	return vpc, true, nil
}

// findVPCByName returns the VPC named name, or nil.
func (c *Client) findVPCByName(ctx context.Context, name string) (*godo.VPC, error) {
	vpcs, err := listAll(ctx, c.godo.VPCs.List)
	if err != nil {
		return nil, fmt.Errorf("listing VPCs: %w", err)
	}
	for _, v := range vpcs {
		if v.Name == name {
			return v, nil
		}
	}
	return nil, nil
}

// findOwnedVPCByName returns the VPC named name that was made for cl, or
// nil; a VPC of that name made otherwise is an error no retry clears.
func (c *Client) findOwnedVPCByName(ctx context.Context, cl Cluster, name string) (*godo.VPC, error) {
	vpc, err := c.findVPCByName(ctx, name)
	if err != nil || vpc == nil {
		return nil, err
	}
	if vpc.Description != cl.description() {
		return nil, permanent("", "VPC name %s is taken by VPC %s, which was not made for this cluster", name, vpc.ID)
	}
	if vpc.RegionSlug != cl.Region {
		return nil, permanent("", "VPC %s is in region %s, not in the cluster's region %s", vpc.ID, vpc.RegionSlug, cl.Region)
	}
	return vpc, nil
}

// DeleteVPC deletes the VPC made for the cluster (one given by vpcUUID
// stays) and reports whether it is gone. A VPC cannot be deleted while
// anything is in it: until the droplets and the load balancer have left,
// it returns false and the members' names.
func (c *Client) DeleteVPC(ctx context.Context, cl Cluster, spec infrav1.VPCSpec) (bool, []string, error) {
	if spec.VPCUUID != "" {
		return true, nil, nil
	}
	vpc, err := c.findVPCByName(ctx, vpcName(cl, spec))
	if err != nil {
		return false, nil, err
	}
	if vpc == nil || vpc.Description != cl.description() {
		return true, nil, nil
	}
	members, err := listAll(ctx, func(ctx context.Context, opt *godo.ListOptions) ([]*godo.VPCMember, *godo.Response, error) {
		return c.godo.VPCs.ListMembers(ctx, vpc.ID, nil, opt)
	})
	if err != nil {
		return false, nil, fmt.Errorf("listing the members of VPC %s: %w", vpc.ID, err)
	}
	if len(members) > 0 {
		names := make([]string, 0, len(members))
		for _, m := range members {
			names = append(names, memberName(m))
		}
		return false, names, nil
	}
	_, err = c.godo.VPCs.Delete(ctx, vpc.ID)
	switch {
	case err == nil || IsNotFound(err):
		return true, nil, nil
	case statusOf(err) == http.StatusForbidden || statusOf(err) == http.StatusConflict:
		// DigitalOcean still counts a member that the list no longer shows.
		return false, nil, nil
	}
	return false, nil, fmt.Errorf("deleting VPC %s: %w", vpc.ID, err)
}

// memberName is a VPC member's name and kind, from its URN
// (do:droplet:123, do:loadbalancer:uuid).
func memberName(m *godo.VPCMember) string {
	kind := m.URN
	if parts := strings.Split(m.URN, ":"); len(parts) == 3 {
		kind = parts[1]
	}
	if m.Name == "" {
		return kind
	}
	return kind + " " + m.Name
}
