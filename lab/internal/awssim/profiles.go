package awssim

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// CAPAInstanceProfiles are the instance profiles clusterawsadm creates for
// Cluster API Provider AWS. The simulated account has them, as an account
// prepared for CAPA does; RegisterInstanceProfiles adds others.
var CAPAInstanceProfiles = []string{
	"control-plane.cluster-api-provider-aws.sigs.k8s.io",
	"nodes.cluster-api-provider-aws.sigs.k8s.io",
	"controllers.cluster-api-provider-aws.sigs.k8s.io",
}

// instanceProfile is an IAM instance profile of the account. IAM is not
// simulated beyond the names RunInstances may use.
type instanceProfile struct {
	name, id string
	created  time.Time
}

func (p *instanceProfile) createdAt() time.Time { return p.created }

func (p *instanceProfile) arn() string {
	return "arn:aws:iam::" + accountID + ":instance-profile/" + p.name
}

// IAM's rule for instance profile names.
var profileNamePattern = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)

// RegisterInstanceProfiles adds instance profiles to the account. Like
// any new IAM resource they reach EC2 only after Config.ConsistencyDelay.
func (s *Simulator) RegisterInstanceProfiles(names []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.registerInstanceProfiles(names, s.now())
}

func (s *Simulator) registerInstanceProfiles(names []string, at time.Time) error {
	for _, name := range names {
		if !profileNamePattern.MatchString(name) {
			return fmt.Errorf("instance profile name %q: 1 to 128 letters, digits or _+=,.@-", name)
		}
	}
	for _, name := range names {
		if _, ok := s.profiles[name]; !ok {
			s.profiles[name] = &instanceProfile{name: name, id: "AIPA" + strings.ToUpper(hashHex("instance-profile/"+name)), created: at}
		}
	}
	return nil
}

// launchProfile is the instance profile RunInstances names by
// IamInstanceProfile.Name or .Arn, nil for none. EC2 refuses one that
// does not exist.
func (s *Simulator) launchProfile(p params) (*iamProfile, *apiError) {
	name, arn := p.get("IamInstanceProfile.Name"), p.get("IamInstanceProfile.Arn")
	switch {
	case name != "":
		if prof, ok := lookup(s, s.profiles, name); ok {
			return &iamProfile{Arn: prof.arn(), ID: prof.id}, nil
		}
		return nil, badRequest("InvalidParameterValue", "Value (%s) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name", name)
	case arn != "":
		// A profile's ARN may carry a path before its name.
		if prefix := "arn:aws:iam::" + accountID + ":instance-profile/"; strings.HasPrefix(arn, prefix) {
			if prof, ok := lookup(s, s.profiles, lastPart(arn)); ok {
				return &iamProfile{Arn: arn, ID: prof.id}, nil
			}
		}
		return nil, badRequest("InvalidParameterValue", "Value (%s) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN", arn)
	}
	return nil, nil
}
