package dosim

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
)

// sshKey is a public key of the account, found by ID or by its MD5
// fingerprint, as DigitalOcean shows it.
type sshKey struct {
	ID          int    `json:"id"`
	Fingerprint string `json:"fingerprint"`
	PublicKey   string `json:"public_key"`
	Name        string `json:"name"`
}

// findKey looks a key up by ID or fingerprint.
func (s *Simulator) findKey(ref string) (*sshKey, bool) {
	if id, err := strconv.Atoi(ref); err == nil {
		k, ok := s.keys[id]
		return k, ok
	}
	for _, k := range s.keys {
		if k.Fingerprint == ref {
			return k, true
		}
	}
	return nil, false
}

func (s *Simulator) createKey(r *request) (int, any, *apiError) {
	var body struct {
		Name      string `json:"name"`
		PublicKey string `json:"public_key"`
	}
	if err := r.decode(&body); err != nil {
		return 0, nil, err
	}
	if strings.TrimSpace(body.Name) == "" {
		return 0, nil, unprocessable("Name can't be blank")
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(body.PublicKey))
	if err != nil {
		return 0, nil, unprocessable("Key invalid, type not supported")
	}
	fp := ssh.FingerprintLegacyMD5(pub)
	for _, k := range s.keys {
		if k.Fingerprint == fp {
			return 0, nil, unprocessable("SSH Key is already in use on your account")
		}
	}
	s.seq.key++
	k := &sshKey{ID: s.seq.key, Fingerprint: fp, PublicKey: strings.TrimSpace(body.PublicKey), Name: body.Name}
	s.keys[k.ID] = k
	return http.StatusCreated, map[string]any{"ssh_key": k}, nil
}

func (s *Simulator) listKeys(r *request) (int, any, *apiError) {
	var out []*sshKey
	for _, k := range s.keys {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	page, l, m, err := pageOf(r, out)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"ssh_keys": page, "links": l, "meta": m}, nil
}

func (s *Simulator) getKey(r *request) (int, any, *apiError) {
	k, ok := s.findKey(r.params["key"])
	if !ok {
		return 0, nil, notFound()
	}
	return http.StatusOK, map[string]any{"ssh_key": k}, nil
}

func (s *Simulator) updateKey(r *request) (int, any, *apiError) {
	k, ok := s.findKey(r.params["key"])
	if !ok {
		return 0, nil, notFound()
	}
	var body struct {
		Name string `json:"name"`
	}
	if err := r.decode(&body); err != nil {
		return 0, nil, err
	}
	if strings.TrimSpace(body.Name) == "" {
		return 0, nil, unprocessable("Name can't be blank")
	}
	k.Name = body.Name
	return http.StatusOK, map[string]any{"ssh_key": k}, nil
}

func (s *Simulator) deleteKey(r *request) (int, any, *apiError) {
	k, ok := s.findKey(r.params["key"])
	if !ok {
		return 0, nil, notFound()
	}
	delete(s.keys, k.ID)
	return http.StatusNoContent, nil, nil
}

// accountUUID is the lab account's, the same across restarts.
const accountUUID = "b6fr89dbf6d9156cace5f3c78dc9851d957381ef"

func (s *Simulator) getAccount(*request) (int, any, *apiError) {
	return http.StatusOK, map[string]any{"account": map[string]any{
		"droplet_limit": s.dropletLimit(), "floating_ip_limit": 3, "volume_limit": 100,
		"email": "lab@example.com", "name": "capi-lab", "uuid": accountUUID, "email_verified": true,
		"status": "active", "status_message": "",
		"team": map[string]any{"uuid": "5df3e3004a17e242b7c20ca6c9fc25b701a47ece", "name": "capi-lab"},
	}}, nil
}
