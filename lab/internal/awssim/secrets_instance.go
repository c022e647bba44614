package awssim

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// An instance's own calls to Secrets Manager: what the aws CLI on a
// booting instance does with the credentials the instance metadata
// service hands out for its instance profile, such as a boothook that
// fetches bootstrap data. They count in Calls() like any call, but
// injected faults, which stand for trouble on the provider's side, do not
// apply (the CLI's own retries would hide them anyway).
//
// An instance has credentials only with an instance profile and its
// metadata endpoint enabled, and the profile's role decides what it may
// do. The lab knows the policies clusterawsadm gives Cluster API
// Provider AWS's roles (CAPAInstanceProfiles): the node policy, which
// the control plane role carries too, allows GetSecretValue and
// DeleteSecret on secrets named aws.cluster.x-k8s.io/*, the controllers
// policy CreateSecret and DeleteSecret there but not GetSecretValue. A
// profile registered through the control API stands for a role whose
// policies the lab does not know: it may do everything.

// ErrNoCredentials is the aws CLI finding no credentials: the instance
// has no instance profile, or its metadata endpoint is disabled.
var ErrNoCredentials = errors.New(`Unable to locate credentials. You can configure credentials by running "aws configure".`)

// capaSecretsPrefix is where CAPA's policies let instances work with
// secrets.
const capaSecretsPrefix = "aws.cluster.x-k8s.io/"

// capaSecretActions are the Secrets Manager actions CAPA's roles allow
// on secrets under capaSecretsPrefix.
var capaSecretActions = map[string][]string{
	CAPAInstanceProfiles[0]: {"GetSecretValue", "DeleteSecret", "CreateSecret", "TagResource"},
	CAPAInstanceProfiles[1]: {"GetSecretValue", "DeleteSecret"},
	CAPAInstanceProfiles[2]: {"CreateSecret", "DeleteSecret", "TagResource"},
}

var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)

// InstanceGetSecretValue is `aws secretsmanager get-secret-value
// --region <region> --secret-id <secretID> --query SecretBinary` run on
// the instance: the secret's SecretBinary, nil for a secret that holds a
// string (for which the CLI prints None).
func (s *Simulator) InstanceGetSecretValue(instanceID, region, secretID string) ([]byte, error) {
	var out []byte
	err := s.instanceCall(instanceID, region, "GetSecretValue", secretID, func() *apiError {
		v, e := s.readSecretValue(region, getSecretValueInput{SecretId: secretID})
		if e == nil {
			out = append([]byte(nil), v.SecretBinary...)
			if v.SecretBinary == nil {
				out = nil
			}
		}
		return e
	})
	return out, err
}

// InstanceDeleteSecret is `aws secretsmanager delete-secret --region
// <region> --secret-id <secretID> --force-delete-without-recovery` run on
// the instance; a secret that is not there is no error, as with any
// forced deletion.
func (s *Simulator) InstanceDeleteSecret(instanceID, region, secretID string) error {
	force := true
	return s.instanceCall(instanceID, region, "DeleteSecret", secretID, func() *apiError {
		_, e := s.removeSecret(region, deleteSecretInput{SecretId: secretID, ForceDeleteWithoutRecovery: &force})
		return e
	})
}

// instanceCall makes one call of the instance's: with credentials, in a
// region the CLI can reach, as the profile's role allows.
func (s *Simulator) instanceCall(instanceID, region, action, secretID string, call func() *apiError) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.instances[instanceID]
	if !ok || i.State.Name != "running" {
		return fmt.Errorf("instance %s is not running", instanceID)
	}
	if i.IAMProfile == nil || i.Metadata.HTTPEndpoint == "disabled" {
		return ErrNoCredentials
	}
	if !regionPattern.MatchString(region) {
		return fmt.Errorf(`Could not connect to the endpoint URL: "https://secretsmanager.%s.amazonaws.com/"`, region)
	}
	s.calls["secretsmanager:"+action]++
	// The clock may have ended some deletions since the last request.
	s.purgeSecrets(s.now())
	profile := lastPart(i.IAMProfile.Arn)
	if allowed, known := capaSecretActions[profile]; known &&
		(!contains(allowed, action) || !strings.HasPrefix(secretNameOf(secretID), capaSecretsPrefix)) {
		return badRequest("AccessDeniedException", "User: arn:aws:sts::%s:assumed-role/%s/%s is not authorized to perform: secretsmanager:%s "+
			"on resource: %s because no identity-based policy allows the secretsmanager:%s action", accountID, profile, instanceID, action, secretID, action)
	}
	if e := call(); e != nil {
		return e
	}
	return nil
}

// secretNameOf is the name a SecretId names, which IAM matches policies'
// resources against: the ID itself, or what follows secret: in an ARN.
func secretNameOf(id string) string {
	if _, name, ok := strings.Cut(id, ":secret:"); ok && strings.HasPrefix(id, "arn:") {
		return name
	}
	return id
}
