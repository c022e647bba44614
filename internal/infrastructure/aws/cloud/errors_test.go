package cloud

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

// apiErrors answers every EC2 and ELBv2 call with the error code and
// message, each with a new request ID, as AWS does.
func apiErrors(t *testing.T, status int, code, message string) Clients {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		id := fmt.Sprintf("4f5e6d7c-0000-4000-8000-%012d", n.Add(1))
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		if r.Form.Get("Version") == "2015-12-01" {
			fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`, code, message, id)
			return
		}
		fmt.Fprintf(w, `<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`, code, message, id)
	}))
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
		BaseEndpoint: aws.String(srv.URL), Retryer: func() aws.Retryer { return aws.NopRetryer{} }}
	return Clients{EC2: ec2.NewFromConfig(cfg), ELB: elbv2.NewFromConfig(cfg)}
}

func createSubnet(c Clients) error {
	_, err := c.EC2.CreateSubnet(context.Background(), &ec2.CreateSubnetInput{VpcId: aws.String("vpc-0123456789abcdef0"),
		CidrBlock: aws.String("10.0.0.0/20"), AvailabilityZone: aws.String("eu-west-1a")})
	if err != nil {
		return fmt.Errorf("creating public-subnet in eu-west-1a: %w", err)
	}
	return nil
}

// The SDK's error text names a new request ID each call; the message of
// a condition must not, or every retry is a status change.
func TestMessageKeepsTheCloudsErrorOnly(t *testing.T) {
	zone := "Value (eu-west-1a) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: us-east-1a, us-east-1b, us-east-1c."
	c := apiErrors(t, http.StatusBadRequest, "InvalidParameterValue", zone)
	first, second := createSubnet(c), createSubnet(c)
	if first == nil || first.Error() == second.Error() {
		t.Fatalf("the SDK's errors do not differ by request ID: %v", first)
	}
	want := "creating public-subnet in eu-west-1a: InvalidParameterValue: " + zone
	if got := Message(first); got != want {
		t.Errorf("Message = %q\nwant %q", got, want)
	}
	if Message(first) != Message(second) {
		t.Errorf("two calls with one error give %q and %q", Message(first), Message(second))
	}

	elb := apiErrors(t, http.StatusBadRequest, "TooManyLoadBalancers", "The quota for the number of load balancers has been reached")
	_, err := elb.ELB.DescribeLoadBalancers(context.Background(), &elbv2.DescribeLoadBalancersInput{})
	if got := Message(err); got != "TooManyLoadBalancers: The quota for the number of load balancers has been reached" {
		t.Errorf("ELBv2 Message = %q", got)
	}

	// A failure that is not AWS's keeps the call it came from, and no
	// request ID.
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
		BaseEndpoint: aws.String(down.URL), Retryer: func() aws.Retryer { return aws.NopRetryer{} }}
	_, err = ec2.NewFromConfig(cfg).DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{})
	if got := Message(err); !strings.HasPrefix(got, "EC2 DescribeVpcs: ") || strings.Contains(got, "RequestID") || strings.Contains(got, "StatusCode") {
		t.Errorf("Message of a refused connection = %q", got)
	}
	if got := Message(errors.New("plain")); got != "plain" {
		t.Errorf("Message(plain) = %q", got)
	}
}

func TestAsPermanent(t *testing.T) {
	for _, c := range []struct {
		code, message string
		permanent     bool
	}{
		{"InvalidParameterValue", "Value (eu-west-1a) for parameter availabilityZone is invalid.", true},
		{"InvalidVpc.Range", "The CIDR '10.0.0.0/8' is invalid.", true},
		{"InvalidSubnet.Range", "The CIDR '10.1.0.0/24' is invalid.", true},
		{"InvalidSubnet.Conflict", "The CIDR '10.0.0.0/20' conflicts with another subnet", true},
		{"VpcLimitExceeded", "The maximum number of VPCs has been reached.", true},
		{"VcpuLimitExceeded", "You have requested more vCPU capacity than your current vCPU limit of 32 allows", true},
		{"UnauthorizedOperation", "You are not authorized to perform this operation.", true},
		{"InvalidKeyPair.NotFound", "The key pair 'ops' does not exist", true},
		{"Unsupported", "Your requested instance type (t3.large) is not supported in your requested Availability Zone (us-east-1-bos-1a).", true},
		{"TooManyLoadBalancers", "The quota for the number of load balancers has been reached", true},
		// IAM is eventually consistent: a new instance profile is refused
		// for a while.
		{"InvalidParameterValue", "Value (ops) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name", false},
		// EC2 is eventually consistent too: a new resource is unknown for a while.
		{"InvalidVpcID.NotFound", "The vpc ID 'vpc-1' does not exist", false},
		{"InvalidSubnet", "The subnet ID 'subnet-1' is not valid", false},
		{"RequestLimitExceeded", "Request limit exceeded.", false},
		{"InsufficientInstanceCapacity", "We currently do not have sufficient t3.large capacity in the Availability Zone you requested.", false},
		{"DependencyViolation", "The vpc 'vpc-1' has dependencies and cannot be deleted.", false},
	} {
		err := createSubnet(apiErrors(t, http.StatusBadRequest, c.code, c.message))
		p := AsPermanent(err)
		if (p != nil) != c.permanent {
			t.Errorf("%s (%s): permanent %v, want %v", c.code, c.message, p != nil, c.permanent)
		}
		if p != nil && p.Reason != "" {
			t.Errorf("%s: reason %q, want the caller's", c.code, p.Reason)
		}
	}
	if p := AsPermanent(createSubnet(apiErrors(t, http.StatusServiceUnavailable, "Unavailable", "The service is unavailable."))); p != nil {
		t.Error("a 503 is permanent")
	}
	// What the SDK refuses to send is no better the next time.
	_, err := apiErrors(t, http.StatusBadRequest, "x", "y").EC2.CreateSubnet(context.Background(), &ec2.CreateSubnetInput{})
	if err == nil || AsPermanent(err) == nil {
		t.Errorf("a request the SDK refused (%v) is not permanent", err)
	}
	if AsPermanent(nil) != nil || AsPermanent(errors.New("plain")) != nil {
		t.Error("nil or a plain error is permanent")
	}
	wrapped := fmt.Errorf("creating VPC: %w", permanent("", "VPC CIDR too small"))
	if p := AsPermanent(wrapped); p == nil || p.Error() != "VPC CIDR too small" {
		t.Errorf("a wrapped PermanentError: %v", p)
	}
}

func TestSubnetCIDRsOfATooSmallVPCArePermanent(t *testing.T) {
	for _, cidr := range []string{"10.0.0.0/25", "10.0.0.0/28", "not a cidr", "fd00::/56"} {
		_, _, err := SubnetCIDRs(cidr, 1)
		if AsPermanent(err) == nil {
			t.Errorf("%s: %v, want a permanent error", cidr, err)
		}
	}
	if _, _, err := SubnetCIDRs("10.0.0.0/24", 3); err != nil {
		t.Errorf("a /24 for three zones: %v", err)
	}
}
