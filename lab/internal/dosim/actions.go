package dosim

import (
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// action is an event on a droplet: its creation or a power action.
type action struct {
	ID           int     `json:"id"`
	Status       string  `json:"status"`
	Type         string  `json:"type"`
	StartedAt    string  `json:"started_at"`
	CompletedAt  *string `json:"completed_at"`
	ResourceID   int     `json:"resource_id"`
	ResourceType string  `json:"resource_type"`
	Region       region  `json:"region"`
	RegionSlug   string  `json:"region_slug"`

	started time.Time
	delay   time.Duration
}

func lower(s string) string { return strings.ToLower(s) }

func (s *Simulator) newAction(typ string, d *droplet, delay time.Duration) *action {
	s.seq.action++
	a := &action{ID: s.seq.action, Status: "in-progress", Type: typ, StartedAt: timestamp(s.now()), ResourceID: d.ID,
		ResourceType: "droplet", Region: d.Region, RegionSlug: d.Region.Slug, started: s.now(), delay: delay}
	s.actions[a.ID] = a
	return a
}

// complete finishes an action and applies its effect. A create finishes
// with the boot, which advance handles.
func (s *Simulator) complete(a *action) {
	d := s.droplets[a.ResourceID]
	if a.Type != "create" && d == nil {
		a.Status = "errored"
	} else {
		a.Status = "completed"
	}
	done := timestamp(a.started.Add(a.delay))
	a.CompletedAt = &done
	if d == nil {
		return
	}
	switch a.Type {
	case "power_off", "shutdown":
		d.Status = "off"
	case "power_on":
		d.Status = "active"
	}
}

// pendingAction is the droplet's action in progress, if any.
func (s *Simulator) pendingAction(d *droplet) *action {
	for _, a := range s.actions {
		if a.ResourceID == d.ID && a.Status == "in-progress" {
			return a
		}
	}
	return nil
}

// powerActions are the droplet actions the lab plays, with the status a
// droplet must have for each.
var powerActions = map[string]string{
	"power_off": "active", "shutdown": "active", "power_on": "off", "reboot": "active", "power_cycle": "",
}

// allActionTypes are the API's droplet action types.
var allActionTypes = []string{"enable_backups", "disable_backups", "reboot", "power_cycle", "shutdown", "power_off", "power_on",
	"restore", "password_reset", "resize", "rebuild", "rename", "change_kernel", "enable_ipv6", "snapshot", "change_backup_policy"}

func (s *Simulator) startAction(d *droplet, typ string) (*action, *apiError) {
	need, played := powerActions[typ]
	switch {
	case !played && slices.Contains(allActionTypes, typ):
		return nil, unprocessable("The lab does not play the droplet action %s.", typ)
	case !played:
		return nil, unprocessable("%q is not a valid droplet action type.", typ)
	case d.Status == "new" || s.pendingAction(d) != nil:
		return nil, unprocessable("Droplet already has a pending event.")
	case need == "active" && d.Status != "active":
		return nil, unprocessable("Droplet is already powered off.")
	case need == "off" && d.Status != "off":
		return nil, unprocessable("Droplet is already powered on.")
	}
	return s.newAction(typ, d, s.cfg.ActionDelay), nil
}

func (s *Simulator) postDropletAction(r *request) (int, any, *apiError) {
	d, err := s.droplet(r)
	if err != nil {
		return 0, nil, err
	}
	var body struct {
		Type string `json:"type"`
	}
	if err := r.decode(&body); err != nil {
		return 0, nil, err
	}
	a, err := s.startAction(d, body.Type)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]any{"action": a}, nil
}

// postDropletActionByTag starts the action on every droplet with the
// tag; power actions only, as the API allows.
func (s *Simulator) postDropletActionByTag(r *request) (int, any, *apiError) {
	name := r.query.Get("tag_name")
	if name == "" {
		return 0, nil, badRequest("tag_name is required")
	}
	var body struct {
		Type string `json:"type"`
	}
	if err := r.decode(&body); err != nil {
		return 0, nil, err
	}
	var ds []*droplet
	for _, d := range s.droplets {
		if hasTag(d.Tags, name) {
			ds = append(ds, d)
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].ID < ds[j].ID })
	out := []*action{}
	for _, d := range ds {
		a, err := s.startAction(d, body.Type)
		if err != nil {
			return 0, nil, err
		}
		out = append(out, a)
	}
	return http.StatusCreated, map[string]any{"actions": out}, nil
}

func (s *Simulator) listDropletActions(r *request) (int, any, *apiError) {
	d, err := s.droplet(r)
	if err != nil {
		return 0, nil, err
	}
	var out []*action
	for _, a := range s.actions {
		if a.ResourceID == d.ID {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	page, l, m, err := pageOf(r, out)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"actions": page, "links": l, "meta": m}, nil
}

func (s *Simulator) actionByID(raw string) (*action, *apiError) {
	id, err := strconv.Atoi(raw)
	if err != nil {
		return nil, notFound()
	}
	a, ok := s.actions[id]
	if !ok {
		return nil, notFound()
	}
	return a, nil
}

func (s *Simulator) getDropletAction(r *request) (int, any, *apiError) {
	id, err := strconv.Atoi(r.params["droplet_id"])
	if err != nil {
		return 0, nil, notFound()
	}
	a, apiErr := s.actionByID(r.params["action_id"])
	if apiErr != nil || a.ResourceID != id {
		return 0, nil, notFound()
	}
	return http.StatusOK, map[string]any{"action": a}, nil
}

func (s *Simulator) getAction(r *request) (int, any, *apiError) {
	a, err := s.actionByID(r.params["action_id"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"action": a}, nil
}
