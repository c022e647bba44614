package dosim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// route is one operation of the API: a method, a path pattern whose
// {name} segments are parameters, and the action name calls are counted
// and faults are injected under ("droplets:create").
type route struct {
	method, pattern, action string
	handle                  func(*Simulator, *request) (int, any, *apiError)
}

// routes are DigitalOcean's paths, as the OpenAPI description names
// them. A pattern's literal segments win over parameters of the same
// position (/v2/droplets/actions is not a droplet ID).
var routes = []route{
	{"GET", "/v2/account", "account:get", (*Simulator).getAccount},
	{"GET", "/v2/account/keys", "ssh_keys:list", (*Simulator).listKeys},
	{"POST", "/v2/account/keys", "ssh_keys:create", (*Simulator).createKey},
	{"GET", "/v2/account/keys/{key}", "ssh_keys:get", (*Simulator).getKey},
	{"PUT", "/v2/account/keys/{key}", "ssh_keys:update", (*Simulator).updateKey},
	{"DELETE", "/v2/account/keys/{key}", "ssh_keys:delete", (*Simulator).deleteKey},
	{"GET", "/v2/actions/{action_id}", "actions:get", (*Simulator).getAction},

	{"GET", "/v2/regions", "regions:list", (*Simulator).listRegions},
	{"GET", "/v2/sizes", "sizes:list", (*Simulator).listSizes},
	{"GET", "/v2/images", "images:list", (*Simulator).listImages},
	{"GET", "/v2/images/{image}", "images:get", (*Simulator).getImage},

	{"GET", "/v2/droplets", "droplets:list", (*Simulator).listDroplets},
	{"POST", "/v2/droplets", "droplets:create", (*Simulator).createDroplets},
	{"DELETE", "/v2/droplets", "droplets:destroy_by_tag", (*Simulator).deleteDropletsByTag},
	{"POST", "/v2/droplets/actions", "droplet_actions:post_by_tag", (*Simulator).postDropletActionByTag},
	{"GET", "/v2/droplets/{droplet_id}", "droplets:get", (*Simulator).getDroplet},
	{"DELETE", "/v2/droplets/{droplet_id}", "droplets:destroy", (*Simulator).deleteDroplet},
	{"GET", "/v2/droplets/{droplet_id}/actions", "droplet_actions:list", (*Simulator).listDropletActions},
	{"POST", "/v2/droplets/{droplet_id}/actions", "droplet_actions:post", (*Simulator).postDropletAction},
	{"GET", "/v2/droplets/{droplet_id}/actions/{action_id}", "droplet_actions:get", (*Simulator).getDropletAction},
	{"GET", "/v2/droplets/{droplet_id}/firewalls", "droplets:list_firewalls", (*Simulator).listDropletFirewalls},

	{"GET", "/v2/vpcs", "vpcs:list", (*Simulator).listVPCs},
	{"POST", "/v2/vpcs", "vpcs:create", (*Simulator).createVPC},
	{"GET", "/v2/vpcs/{vpc_id}", "vpcs:get", (*Simulator).getVPC},
	{"PUT", "/v2/vpcs/{vpc_id}", "vpcs:update", (*Simulator).updateVPC},
	{"PATCH", "/v2/vpcs/{vpc_id}", "vpcs:patch", (*Simulator).patchVPC},
	{"DELETE", "/v2/vpcs/{vpc_id}", "vpcs:delete", (*Simulator).deleteVPC},
	{"GET", "/v2/vpcs/{vpc_id}/members", "vpcs:list_members", (*Simulator).listVPCMembers},

	{"GET", "/v2/firewalls", "firewalls:list", (*Simulator).listFirewalls},
	{"POST", "/v2/firewalls", "firewalls:create", (*Simulator).createFirewall},
	{"GET", "/v2/firewalls/{firewall_id}", "firewalls:get", (*Simulator).getFirewall},
	{"PUT", "/v2/firewalls/{firewall_id}", "firewalls:update", (*Simulator).updateFirewall},
	{"DELETE", "/v2/firewalls/{firewall_id}", "firewalls:delete", (*Simulator).deleteFirewall},
	{"POST", "/v2/firewalls/{firewall_id}/droplets", "firewalls:assign_droplets", (*Simulator).addFirewallDroplets},
	{"DELETE", "/v2/firewalls/{firewall_id}/droplets", "firewalls:delete_droplets", (*Simulator).removeFirewallDroplets},
	{"POST", "/v2/firewalls/{firewall_id}/tags", "firewalls:add_tags", (*Simulator).addFirewallTags},
	{"DELETE", "/v2/firewalls/{firewall_id}/tags", "firewalls:delete_tags", (*Simulator).removeFirewallTags},
	{"POST", "/v2/firewalls/{firewall_id}/rules", "firewalls:add_rules", (*Simulator).addFirewallRules},
	{"DELETE", "/v2/firewalls/{firewall_id}/rules", "firewalls:delete_rules", (*Simulator).removeFirewallRules},

	{"GET", "/v2/load_balancers", "load_balancers:list", (*Simulator).listLoadBalancers},
	{"POST", "/v2/load_balancers", "load_balancers:create", (*Simulator).createLoadBalancer},
	{"GET", "/v2/load_balancers/{lb_id}", "load_balancers:get", (*Simulator).getLoadBalancer},
	{"PUT", "/v2/load_balancers/{lb_id}", "load_balancers:update", (*Simulator).updateLoadBalancer},
	{"DELETE", "/v2/load_balancers/{lb_id}", "load_balancers:delete", (*Simulator).deleteLoadBalancer},
	{"POST", "/v2/load_balancers/{lb_id}/droplets", "load_balancers:add_droplets", (*Simulator).addLoadBalancerDroplets},
	{"DELETE", "/v2/load_balancers/{lb_id}/droplets", "load_balancers:remove_droplets", (*Simulator).removeLoadBalancerDroplets},
	{"POST", "/v2/load_balancers/{lb_id}/forwarding_rules", "load_balancers:add_forwarding_rules", (*Simulator).addForwardingRules},
	{"DELETE", "/v2/load_balancers/{lb_id}/forwarding_rules", "load_balancers:remove_forwarding_rules", (*Simulator).removeForwardingRules},

	{"GET", "/v2/tags", "tags:list", (*Simulator).listTags},
	{"POST", "/v2/tags", "tags:create", (*Simulator).createTag},
	{"GET", "/v2/tags/{tag_id}", "tags:get", (*Simulator).getTag},
	{"DELETE", "/v2/tags/{tag_id}", "tags:delete", (*Simulator).deleteTag},
	{"POST", "/v2/tags/{tag_id}/resources", "tags:assign_resources", (*Simulator).tagResources},
	{"DELETE", "/v2/tags/{tag_id}/resources", "tags:unassign_resources", (*Simulator).untagResources},
}

// match finds the route for a request; literal segments beat parameters.
func match(method, path string) (*route, map[string]string) {
	segs := strings.Split(strings.TrimSuffix(path, "/"), "/")
	var best *route
	var bestParams map[string]string
	bestLiterals := -1
	for i := range routes {
		rt := &routes[i]
		if rt.method != method {
			continue
		}
		pat := strings.Split(rt.pattern, "/")
		if len(pat) != len(segs) {
			continue
		}
		params, literals, ok := map[string]string{}, 0, true
		for j, p := range pat {
			if strings.HasPrefix(p, "{") {
				v, err := url.PathUnescape(segs[j])
				if err != nil || v == "" {
					ok = false
					break
				}
				params[strings.Trim(p, "{}")] = v
				continue
			}
			if p != segs[j] {
				ok = false
				break
			}
			literals++
		}
		if ok && literals > bestLiterals {
			best, bestParams, bestLiterals = rt, params, literals
		}
	}
	return best, bestParams
}

// request is what a handler reads.
type request struct {
	params map[string]string
	query  url.Values
	body   []byte
	// base is the scheme and host the client reached, for links.
	base string
	path string
}

func newRequest(r *http.Request, params map[string]string) (*request, *apiError) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil {
		return nil, badRequest("reading the request body: %v", err)
	}
	if len(body) > 1<<20 {
		return nil, errorf(http.StatusRequestEntityTooLarge, "request_entity_too_large", "The request body is too large.")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return &request{params: params, query: r.URL.Query(), body: body, base: scheme + "://" + r.Host, path: r.URL.Path}, nil
}

// decode reads the JSON body into v. Unknown fields are ignored, as
// DigitalOcean ignores them; malformed JSON and wrong types are refused.
func (r *request) decode(v any) *apiError {
	if len(bytes.TrimSpace(r.body)) == 0 {
		return unprocessable("The request body is empty.")
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errorAs(err, &typeErr) {
			return unprocessable("%s is not of type %s.", typeErr.Field, typeErr.Type)
		}
		return badRequest("The request body is not valid JSON: %v", err)
	}
	return nil
}
