package awssim

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// putControl sends a PUT to the simulator's control API and returns the
// status.
func putControl(t *testing.T, e *env, path, body string) int {
	t.Helper()
	srv := httptest.NewServer(e.sim)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPut, srv.URL+path, strings.NewReader(body))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// launch runs one t3.medium of the Ubuntu image in the subnet, changed by
// edit.
func launch(e *env, subnetID string, edit func(*ec2.RunInstancesInput)) (*ec2.RunInstancesOutput, error) {
	in := &ec2.RunInstancesInput{ImageId: aws.String(ubuntuImage), InstanceType: ec2types.InstanceTypeT3Medium,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(subnetID)}
	if edit != nil {
		edit(in)
	}
	return e.ec2.RunInstances(context.Background(), in)
}

func withProfile(name, arn string) func(*ec2.RunInstancesInput) {
	return func(in *ec2.RunInstancesInput) {
		in.IamInstanceProfile = &ec2types.IamInstanceProfileSpecification{}
		if name != "" {
			in.IamInstanceProfile.Name = aws.String(name)
		}
		if arn != "" {
			in.IamInstanceProfile.Arn = aws.String(arn)
		}
	}
}

func TestRunInstancesRefusesUnknownInstanceProfiles(t *testing.T) {
	e := newEnv(t, Config{})
	subnetID, _ := testSubnet(t, e)
	var started []Instance
	e.sim.OnInstanceRunning = func(i Instance) { started = append(started, i) }

	for _, name := range CAPAInstanceProfiles {
		out, err := launch(e, subnetID, withProfile(name, ""))
		if err != nil {
			t.Fatalf("CAPA's profile %s: %v", name, err)
		}
		if got := *out.Instances[0].IamInstanceProfile.Arn; got != "arn:aws:iam::"+accountID+":instance-profile/"+name {
			t.Errorf("profile ARN = %s", got)
		}
	}
	if len(started) != 3 || started[0].IAMInstanceProfile != CAPAInstanceProfiles[0] {
		t.Errorf("OnInstanceRunning calls = %+v", started)
	}
	_, err := launch(e, subnetID, withProfile("missing", ""))
	wantError(t, "unknown profile name", err, "InvalidParameterValue",
		"Value (missing) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name")
	if _, err := launch(e, subnetID, withProfile("", "arn:aws:iam::"+accountID+":instance-profile/capa/"+CAPAInstanceProfiles[1])); err != nil {
		t.Errorf("a profile's ARN with a path: %v", err)
	}
	other := "arn:aws:iam::999999999999:instance-profile/" + CAPAInstanceProfiles[1]
	_, err = launch(e, subnetID, withProfile("", other))
	wantError(t, "another account's profile", err, "InvalidParameterValue",
		"Value ("+other+") for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN")
}

// A profile registered through the control API is usable once IAM's
// changes reach EC2.
func TestRegisteredInstanceProfiles(t *testing.T) {
	e := newEnv(t, Config{})
	subnetID, _ := testSubnet(t, e)
	e.sim.SetConfig(Config{ConsistencyDelay: 2 * time.Second})
	e.clock.Advance(time.Minute)
	if code := putControl(t, e, "/_lab/instance-profiles", `["ops-nodes","ops@example"]`); code != http.StatusNoContent {
		t.Fatalf("registering profiles: %d", code)
	}
	_, err := launch(e, subnetID, withProfile("ops-nodes", ""))
	wantError(t, "a profile made a moment ago", err, "InvalidParameterValue", "Invalid IAM Instance Profile name")
	e.clock.Advance(2 * time.Second)
	if _, err := launch(e, subnetID, withProfile("ops-nodes", "")); err != nil {
		t.Errorf("a registered profile: %v", err)
	}
	if code := putControl(t, e, "/_lab/instance-profiles", `["has space"]`); code != http.StatusBadRequest {
		t.Errorf("a name IAM refuses: %d", code)
	}
}
