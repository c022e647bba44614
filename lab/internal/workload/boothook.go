package workload

import (
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The boothook that fetches a machine's bootstrap data from AWS Secrets
// Manager, as Cluster API Provider AWS and this project's provider write
// it: a bash script that sets SECRET_PREFIX, CHUNKS and REGION (and
// FILE, /etc/secret-userdata.txt unless set), reads the secrets
// <prefix>-0 to <prefix>-<CHUNKS-1> with `aws secretsmanager
// get-secret-value --query SecretBinary`, appends them in order,
// deletes every chunk with `aws secretsmanager delete-secret
// --force-delete-without-recovery` (also when a read fails, so that none
// outlives the boot), and gunzips the result into FILE, which the user
// data's include part hands to cloud-init. The lab plays exactly that,
// through the cloud's Secrets Manager with the instance's own
// credentials.

// SecretsManager is Secrets Manager as the aws CLI on an EC2 instance
// reaches it, with the credentials of the instance's profile.
type SecretsManager interface {
	// InstanceGetSecretValue returns the secret's SecretBinary, nil for a
	// secret that holds a string.
	InstanceGetSecretValue(instanceID, region, secretID string) ([]byte, error)
	// InstanceDeleteSecret deletes the secret without recovery.
	InstanceDeleteSecret(instanceID, region, secretID string) error
}

// defaultBootstrapFile is where the boothook writes the data unless its
// FILE says otherwise.
const defaultBootstrapFile = "/etc/secret-userdata.txt"

// shellAssignment is a line of the script that sets a variable, its value
// bare or in quotes.
var shellAssignment = regexp.MustCompile(`(?m)^[ \t]*(?:export[ \t]+)?(SECRET_PREFIX|CHUNKS|REGION|FILE)=(?:"([^"$` + "`" + `\\]*)"|'([^']*)'|([^\s"'$` + "`" + `;#]*))[ \t]*(?:#.*)?$`)

// fetchScript is what the lab reads from a boothook.
type fetchScript struct {
	prefix, region, file string
	chunks               int
}

// parseFetchScript reads the variables of a fetch boothook; ok is false
// for a boothook that is not one.
func parseFetchScript(script []byte) (f fetchScript, ok bool, err error) {
	vars := map[string]string{}
	for _, m := range shellAssignment.FindAllSubmatch(script, -1) {
		vars[string(m[1])] = string(m[2]) + string(m[3]) + string(m[4])
	}
	prefix, hasPrefix := vars["SECRET_PREFIX"]
	chunks, hasChunks := vars["CHUNKS"]
	region, hasRegion := vars["REGION"]
	if !hasPrefix || !hasChunks || !hasRegion || !strings.Contains(string(script), "aws secretsmanager get-secret-value") {
		return f, false, nil
	}
	f = fetchScript{prefix: prefix, region: region, file: defaultBootstrapFile}
	if file, ok := vars["FILE"]; ok {
		f.file = file
	}
	if f.chunks, err = strconv.Atoi(chunks); err != nil || f.chunks < 1 {
		return f, true, fmt.Errorf("CHUNKS=%s is no count of chunks", chunks)
	}
	return f, true, nil
}

func (f fetchScript) chunk(i int) string { return f.prefix + "-" + strconv.Itoa(i) }

// runBoothook plays a boothook, writing what it writes into files: an AWS
// Secrets Manager one or a DigitalOcean Spaces one (spaces_boothook.go).
// A boothook the lab does not know does nothing it can see.
func (s *Simulator) runBoothook(i Instance, script []byte, files map[string][]byte) error {
	if f, ok, err := parseSpacesFetchScript(script); ok || err != nil {
		if err != nil {
			return err
		}
		return s.runSpacesBoothook(i, f, files)
	}
	f, ok, err := parseFetchScript(script)
	if !ok || err != nil {
		return err
	}
	sm := s.SecretsManager
	if i.Cloud != AWS || sm == nil {
		return errors.New("aws secretsmanager: no credentials on this machine")
	}
	var gz []byte
	for n := range f.chunks {
		chunk, err := sm.InstanceGetSecretValue(i.ID, f.region, f.chunk(n))
		if err != nil {
			s.deleteChunks(i, f)
			return fmt.Errorf("cannot read bootstrap data %s: %w", f.chunk(n), err)
		}
		if chunk == nil {
			// --output text prints None for a string secret, which
			// base64 -d turns into three bytes.
			chunk, _ = base64.StdEncoding.DecodeString("None")
		}
		gz = append(gz, chunk...)
	}
	s.deleteChunks(i, f)
	data, err := gunzip(gz)
	if err != nil {
		return fmt.Errorf("gunzip %s.gz: %w", f.file, err)
	}
	files[f.file] = data
	s.log.Info("bootstrap data fetched", "instance", i.ID, "secrets", f.prefix+"-*", "chunks", f.chunks)
	return nil
}

// deleteChunks is the script's delete_chunks: every chunk, whatever
// fails.
func (s *Simulator) deleteChunks(i Instance, f fetchScript) {
	for n := range f.chunks {
		if err := s.SecretsManager.InstanceDeleteSecret(i.ID, f.region, f.chunk(n)); err != nil {
			s.log.Info("boothook could not delete bootstrap data", "instance", i.ID, "secret", f.chunk(n), "error", err.Error())
		}
	}
}
