package dosim

import (
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// tagPattern is the API's rule for tag names; at most 255 characters.
var tagPattern = regexp.MustCompile(`^[a-zA-Z0-9_\-:]+$`)

// tag is an account's tag. Names are case-stable: the capitalization of
// the first use is kept, and later uses in any case name the same tag.
type tag struct {
	Name string
	// lastTagged is the URI of the droplet tagged last.
	lastTagged string
}

func checkTagName(name string) *apiError {
	if name == "" || len(name) > 255 || !tagPattern.MatchString(name) {
		return unprocessable("tag name %q is invalid: only letters, numbers, colons, dashes and underscores are allowed, at most 255 characters", name)
	}
	return nil
}

// ensureTag returns the tag's canonical name, creating the tag if the
// account has none of that name.
func (s *Simulator) ensureTag(name string) (string, *apiError) {
	if err := checkTagName(name); err != nil {
		return "", err
	}
	if t, ok := s.tags[strings.ToLower(name)]; ok {
		return t.Name, nil
	}
	s.tags[strings.ToLower(name)] = &tag{Name: name}
	return name, nil
}

// existingTag returns the canonical name of a tag that must exist, as
// firewalls require.
func (s *Simulator) existingTag(name string) (string, *apiError) {
	t, ok := s.tags[strings.ToLower(name)]
	if !ok {
		return "", unprocessable("tag %q does not exist", name)
	}
	return t.Name, nil
}

func hasTag(tags []string, name string) bool {
	return slices.ContainsFunc(tags, func(t string) bool { return strings.EqualFold(t, name) })
}

type tagCount struct {
	Count         int    `json:"count"`
	LastTaggedURI string `json:"last_tagged_uri,omitempty"`
}

type tagResources struct {
	tagCount
	Droplets        tagCount `json:"droplets"`
	Images          tagCount `json:"imgages"`
	Volumes         tagCount `json:"volumes"`
	VolumeSnapshots tagCount `json:"volume_snapshots"`
	Databases       tagCount `json:"databases"`
}

type tagView struct {
	Name      string       `json:"name"`
	Resources tagResources `json:"resources"`
}

func (s *Simulator) tagView(t *tag) tagView {
	n := 0
	for _, d := range s.droplets {
		if hasTag(d.Tags, t.Name) {
			n++
		}
	}
	v := tagView{Name: t.Name}
	v.Resources.Droplets = tagCount{Count: n, LastTaggedURI: t.lastTagged}
	v.Resources.tagCount = v.Resources.Droplets
	if n == 0 {
		v.Resources.Droplets.LastTaggedURI, v.Resources.LastTaggedURI = "", ""
	}
	return v
}

func (s *Simulator) createTag(r *request) (int, any, *apiError) {
	var body struct {
		Name string `json:"name"`
	}
	if err := r.decode(&body); err != nil {
		return 0, nil, err
	}
	if err := checkTagName(body.Name); err != nil {
		return 0, nil, badRequest("%s", err.Message)
	}
	name, _ := s.ensureTag(body.Name)
	return http.StatusCreated, map[string]any{"tag": s.tagView(s.tags[strings.ToLower(name)])}, nil
}

func (s *Simulator) getTag(r *request) (int, any, *apiError) {
	t, ok := s.tags[strings.ToLower(r.params["tag_id"])]
	if !ok {
		return 0, nil, notFound()
	}
	return http.StatusOK, map[string]any{"tag": s.tagView(t)}, nil
}

func (s *Simulator) listTags(r *request) (int, any, *apiError) {
	var out []tagView
	for _, t := range s.tags {
		out = append(out, s.tagView(t))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	page, l, m, err := pageOf(r, out)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"tags": page, "links": l, "meta": m}, nil
}

// deleteTag removes the tag and untags every resource that carried it.
func (s *Simulator) deleteTag(r *request) (int, any, *apiError) {
	key := strings.ToLower(r.params["tag_id"])
	t, ok := s.tags[key]
	if !ok {
		return 0, nil, notFound()
	}
	for _, d := range s.droplets {
		d.Tags = slices.DeleteFunc(d.Tags, func(n string) bool { return strings.EqualFold(n, t.Name) })
	}
	delete(s.tags, key)
	return http.StatusNoContent, nil, nil
}

type resourceRef struct {
	ResourceID   string `json:"resource_id"`
	ResourceType string `json:"resource_type"`
}

// taggedDroplets resolves a tag/untag body to droplets; the lab has no
// volumes or snapshots, and its images take no tags.
func (s *Simulator) taggedDroplets(r *request) ([]*droplet, *apiError) {
	var body struct {
		Resources []resourceRef `json:"resources"`
	}
	if err := r.decode(&body); err != nil {
		return nil, err
	}
	if len(body.Resources) == 0 {
		return nil, badRequest("resources must not be empty")
	}
	var out []*droplet
	for _, ref := range body.Resources {
		switch ref.ResourceType {
		case "droplet":
		case "image", "volume", "volume_snapshot", "database", "load_balancer":
			return nil, unprocessable("%s %s not found", ref.ResourceType, ref.ResourceID)
		default:
			return nil, badRequest("resource_type %q is invalid", ref.ResourceType)
		}
		id, err := strconv.Atoi(ref.ResourceID)
		d, ok := s.droplets[id]
		if err != nil || !ok {
			return nil, unprocessable("droplet %s not found", ref.ResourceID)
		}
		out = append(out, d)
	}
	return out, nil
}

func (s *Simulator) tagResources(r *request) (int, any, *apiError) {
	t, ok := s.tags[strings.ToLower(r.params["tag_id"])]
	if !ok {
		return 0, nil, notFound()
	}
	droplets, err := s.taggedDroplets(r)
	if err != nil {
		return 0, nil, err
	}
	for _, d := range droplets {
		if !hasTag(d.Tags, t.Name) {
			d.Tags = append(d.Tags, t.Name)
		}
		t.lastTagged = "/v2/droplets/" + strconv.Itoa(d.ID)
	}
	return http.StatusNoContent, nil, nil
}

func (s *Simulator) untagResources(r *request) (int, any, *apiError) {
	t, ok := s.tags[strings.ToLower(r.params["tag_id"])]
	if !ok {
		return 0, nil, notFound()
	}
	droplets, err := s.taggedDroplets(r)
	if err != nil {
		return 0, nil, err
	}
	for _, d := range droplets {
		d.Tags = slices.DeleteFunc(d.Tags, func(n string) bool { return strings.EqualFold(n, t.Name) })
	}
	return http.StatusNoContent, nil, nil
}
