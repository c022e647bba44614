package workload

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"fmt"
	"mime/multipart"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/go-logr/logr/funcr"

	"github.com/terraform-capi/terraform-provider-capi/lab/internal/awssim"
)

const testRegion = "eu-west-1"

// fetchScriptFor is a boothook of the shape the provider writes.
func fetchScriptFor(prefix string, chunks int, region string) string {
	return fmt.Sprintf(`#!/bin/bash
set -o nounset -o pipefail
umask 077
SECRET_PREFIX="%s"
CHUNKS="%d"
REGION="%s"
FILE="/etc/secret-userdata.txt"
if [ -s "$FILE" ]; then
  exit 0
fi
for i in $(seq 0 $((CHUNKS - 1))); do
  aws secretsmanager get-secret-value --region "$REGION" --secret-id "${SECRET_PREFIX}-${i}" --query SecretBinary --output text | base64 -d >> "${FILE}.gz"
done
gunzip -f "${FILE}.gz"
`, prefix, chunks, region)
}

// boothookUserData is a MIME multipart document: the boothook, then an
// include of the file it writes.
func boothookUserData(t *testing.T, script, include string) []byte {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, p := range []struct{ contentType, content string }{
		{"text/cloud-boothook", script},
		{"text/x-include-url", include + "\n"},
	} {
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", p.contentType+`; charset="us-ascii"`)
		h.Set("Content-Transfer-Encoding", "7bit")
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = pw.Write([]byte(p.content))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return append([]byte(fmt.Sprintf("Content-Type: multipart/mixed; boundary=%q\nMIME-Version: 1.0\n\n", w.Boundary())), body.Bytes()...)
}

func encodeBase64(data []byte) string { return base64.StdEncoding.EncodeToString(data) }

func gzipped(t *testing.T, data []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// awsEnv is the lab's AWS simulator on loopback with the real SDK's
// clients, and a workload simulator whose instances reach its Secrets
// Manager, wired as capi-lab wires them.
type awsEnv struct {
	aws      *awssim.Simulator
	ec2      *ec2.Client
	sm       *secretsmanager.Client
	wl       *Simulator
	subnetID string
	logs     *logLines
}

// logLines collects what the workload simulator logs.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

// newLoggingSim starts a simulator that stops with the test, and
// collects what it logs.
func newLoggingSim(t *testing.T) (*Simulator, *logLines) {
	ctx, cancel := context.WithCancel(context.Background())
	logs := &logLines{}
	wl, err := New(ctx, funcr.New(func(prefix, args string) {
		logs.mu.Lock()
		logs.lines = append(logs.lines, args)
		logs.mu.Unlock()
		t.Log(args)
	}, funcr.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	wl.JoinRetry = 3 * time.Second
	t.Cleanup(func() { cancel(); <-wl.Stopped() })
	return wl, logs
}

func newAWSEnv(t *testing.T) *awsEnv {
	ctx := context.Background()
	wl, logs := newLoggingSim(t)

	sim := awssim.New(awssim.Config{Region: testRegion})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: testRegion, Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(srv.URL)}
	e := &awsEnv{aws: sim, ec2: ec2.NewFromConfig(cfg), sm: secretsmanager.NewFromConfig(cfg), wl: wl, logs: logs}
	wl.SecretsManager = sim
	sim.OnInstanceRunning = func(i awssim.Instance) {
		wl.InstanceRunning(Instance{ID: i.ID, PrivateIP: i.PrivateIP, PrivateDNSName: i.PrivateDNSName, AvailabilityZone: i.AvailabilityZone,
			Tags: i.Tags, IAMInstanceProfile: i.IAMInstanceProfile, KubernetesVersion: i.KubernetesVersion, UserData: i.UserData,
			MetadataEndpointDisabled: i.MetadataOptions.HTTPEndpoint == "disabled"})
	}

	vpc, err := e.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	sn, err := e.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.0.0.0/20"),
		AvailabilityZone: aws.String(testRegion + "a")})
	if err != nil {
		t.Fatal(err)
	}
	e.subnetID = *sn.Subnet.SubnetId
	return e
}

// storeChunks stores data as the provider does: gzipped, in chunks of
// size bytes named <prefix>-0, <prefix>-1, ...
func (e *awsEnv) storeChunks(t *testing.T, prefix string, data []byte, size int) int {
	gz := gzipped(t, data)
	n := 0
	for ; len(gz) > 0; n++ {
		chunk := gz[:min(size, len(gz))]
		gz = gz[len(chunk):]
		if _, err := e.sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
			Name: aws.String(fmt.Sprintf("%s-%d", prefix, n)), SecretBinary: chunk}); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// run launches a control plane instance of CAPA's Ubuntu image for
// v1.36.3 with the user data, changed by edit.
func (e *awsEnv) run(t *testing.T, userData []byte, edit func(*ec2.RunInstancesInput)) string {
	in := &ec2.RunInstancesInput{ImageId: aws.String(awssim.ImageID("capa-ami-ubuntu-24.04-v1.36.3-1764500000")),
		InstanceType: ec2types.InstanceTypeT3Medium, MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(e.subnetID),
		IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String(awssim.CAPAInstanceProfiles[0])},
		UserData:           aws.String(encodeBase64(userData))}
	if edit != nil {
		edit(in)
	}
	out, err := e.ec2.RunInstances(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return *out.Instances[0].InstanceId
}

func (e *awsEnv) secretNames() []string {
	var names []string
	for _, s := range e.aws.Secrets() {
		names = append(names, s.Name)
	}
	return names
}

func TestParseFetchScript(t *testing.T) {
	for _, c := range []struct {
		script string
		want   fetchScript
		ok     bool
		err    bool
	}{
		{fetchScriptFor("aws.cluster.x-k8s.io/uid", 3, "eu-west-1"),
			fetchScript{prefix: "aws.cluster.x-k8s.io/uid", chunks: 3, region: "eu-west-1", file: "/etc/secret-userdata.txt"}, true, false},
		{"#!/bin/bash\nexport SECRET_PREFIX=p\nCHUNKS='2'\n  REGION=us-east-1 # where\naws secretsmanager get-secret-value\n",
			fetchScript{prefix: "p", chunks: 2, region: "us-east-1", file: "/etc/secret-userdata.txt"}, true, false},
		{"#!/bin/bash\nSECRET_PREFIX=p\nCHUNKS=x\nREGION=r\naws secretsmanager get-secret-value\n", fetchScript{}, true, true},
		{"#!/bin/bash\nSECRET_PREFIX=p\nCHUNKS=0\nREGION=r\naws secretsmanager get-secret-value\n", fetchScript{}, true, true},
		// Not a fetch script: a variable missing, or no read.
		{"#!/bin/bash\nSECRET_PREFIX=p\nREGION=r\naws secretsmanager get-secret-value\n", fetchScript{}, false, false},
		{"#!/bin/bash\nSECRET_PREFIX=p\nCHUNKS=1\nREGION=r\necho hi\n", fetchScript{}, false, false},
		// A value the shell would expand is none the lab reads.
		{"#!/bin/bash\nSECRET_PREFIX=\"$P\"\nCHUNKS=1\nREGION=r\naws secretsmanager get-secret-value\n", fetchScript{}, false, false},
	} {
		f, ok, err := parseFetchScript([]byte(c.script))
		if ok != c.ok || (err != nil) != c.err || (!c.err && f != c.want) {
			t.Errorf("%q: %+v %v %v, want %+v %v err=%v", c.script, f, ok, err, c.want, c.ok, c.err)
		}
	}
}

// An instance whose user data is the boothook fetches its bootstrap data
// from Secrets Manager, deletes it there, and boots with it as it would
// with the cloud-config inline.
func TestBoothookFetchesBootstrapDataFromSecretsManager(t *testing.T) {
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip=%v", compress), func(t *testing.T) {
			e := newAWSEnv(t)
			endpoint := loopbackEndpoint(t)
			initData, certs := initUserData(t, endpoint, nameFromMetadata+providerIDArg)
			const prefix = "aws.cluster.x-k8s.io/5f0c6a4e-uid"
			chunks := e.storeChunks(t, prefix, initData, 2048)
			if chunks < 2 {
				t.Fatalf("the data fits in %d chunk; the test wants several", chunks)
			}
			userData := boothookUserData(t, fetchScriptFor(prefix, chunks, testRegion), "file:///etc/secret-userdata.txt")
			if compress {
				userData = gzipped(t, userData)
			}
			id := e.run(t, userData, nil)
			reportHealth(t, e.wl, endpoint, true)
			cs := clusterClient(t, endpoint, certs)
			nodes := waitNodes(t, cs, 1)
			if n := nodes[0]; n.Spec.ProviderID != "aws:///"+testRegion+"a/"+id || !strings.HasPrefix(n.Name, "ip-10-0-") {
				t.Errorf("node %s, provider ID %s", n.Name, n.Spec.ProviderID)
			}
			calls := e.aws.Calls()
			if calls["secretsmanager:GetSecretValue"] != chunks || calls["secretsmanager:DeleteSecret"] != chunks {
				t.Errorf("calls = %v, want %d reads and deletions", calls, chunks)
			}
			if left := e.secretNames(); len(left) != 0 {
				t.Errorf("secrets left after the boot: %v", left)
			}
		})
	}
}

// An instance whose chunks are gone (deleted before it booted) never
// joins, and still deletes what is left of its data.
func TestBoothookWithMissingChunksNeverJoins(t *testing.T) {
	e := newAWSEnv(t)
	endpoint := loopbackEndpoint(t)
	initData, _ := initUserData(t, endpoint, nameFromMetadata)
	const prefix = "aws.cluster.x-k8s.io/missing"
	chunks := e.storeChunks(t, prefix, initData, 2048)
	if _, err := e.sm.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: aws.String(prefix + "-1"),
		ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	id := e.run(t, boothookUserData(t, fetchScriptFor(prefix, chunks, testRegion), "file:///etc/secret-userdata.txt"), nil)
	reportHealth(t, e.wl, endpoint, true)
	eventually(t, "the boot failure is logged", func() bool {
		return e.logs.has(`"msg"="cloud-init failed"`) && e.logs.has("cannot read bootstrap data "+prefix+"-1") && e.logs.has(id)
	})
	if hasNode(e.wl, id) {
		t.Error("the instance joined without its bootstrap data")
	}
	if calls := e.aws.Calls(); calls["secretsmanager:GetSecretValue"] != 2 || calls["secretsmanager:DeleteSecret"] != chunks+1 {
		t.Errorf("calls = %v: want 2 reads and a deletion of every chunk", calls)
	}
	if left := e.secretNames(); len(left) != 0 {
		t.Errorf("secrets left: %v", left)
	}
}

// Without credentials (no instance profile, or no metadata endpoint) the
// aws CLI reads nothing and deletes nothing; with the endpoint off even
// inline user data is never read.
func TestBootstrapNeedsTheMetadataService(t *testing.T) {
	e := newAWSEnv(t)
	endpoint := loopbackEndpoint(t)
	initData, _ := initUserData(t, endpoint, nameFromMetadata)
	const prefix = "aws.cluster.x-k8s.io/nocreds"
	chunks := e.storeChunks(t, prefix, initData, 1<<16)
	bare := e.run(t, boothookUserData(t, fetchScriptFor(prefix, chunks, testRegion), "file:///etc/secret-userdata.txt"),
		func(in *ec2.RunInstancesInput) { in.IamInstanceProfile = nil })
	eventually(t, "the failure without a profile is logged", func() bool { return e.logs.has("Unable to locate credentials") && e.logs.has(bare) })
	if left := e.secretNames(); len(left) != chunks {
		t.Errorf("secrets left = %v, want the %d chunks nobody could delete", left, chunks)
	}

	closed := e.run(t, initData, func(in *ec2.RunInstancesInput) {
		in.MetadataOptions = &ec2types.InstanceMetadataOptionsRequest{HttpEndpoint: ec2types.InstanceMetadataEndpointStateDisabled}
	})
	eventually(t, "the failure without metadata is logged", func() bool { return e.logs.has("no datasource found") && e.logs.has(closed) })
	reportHealth(t, e.wl, endpoint, true)
	time.Sleep(200 * time.Millisecond)
	if hasNode(e.wl, bare) || hasNode(e.wl, closed) || !refused(endpoint) {
		t.Error("an instance without credentials or metadata joined")
	}
}

// cloud-init reads only what the include names: an include of a file the
// boothook did not write leaves nothing to play.
func TestIncludeOfAnotherFile(t *testing.T) {
	e := newAWSEnv(t)
	endpoint := loopbackEndpoint(t)
	initData, _ := initUserData(t, endpoint, nameFromMetadata)
	const prefix = "aws.cluster.x-k8s.io/other-file"
	chunks := e.storeChunks(t, prefix, initData, 1<<16)
	id := e.run(t, boothookUserData(t, fetchScriptFor(prefix, chunks, testRegion), "file:///etc/other.txt"), nil)
	eventually(t, "the failed include is logged", func() bool { return e.logs.has("include file:///etc/other.txt: no such file") })
	if hasNode(e.wl, id) {
		t.Error("the instance joined")
	}
}

func TestUserDataParts(t *testing.T) {
	sim := newSim(t)
	cc := []byte("#cloud-config\nwrite_files: []\n")
	plain := boothookUserData(t, "#!/bin/sh\necho unrelated\n", "")
	for _, c := range []struct {
		what     string
		data     []byte
		want     []byte
		notKubea bool
	}{
		{"inline", cc, cc, false},
		{"gzip", gzipped(t, cc), cc, false},
		{"a boothook the lab does not know, and no cloud-config", plain, nil, true},
		{"a cloud-config part, base64", []byte("Content-Type: multipart/mixed; boundary=b\nMIME-Version: 1.0\n\n--b\n" +
			"Content-Type: text/cloud-config\nContent-Transfer-Encoding: base64\n\n" + encodeBase64(cc) + "\n--b--\n"), cc, false},
	} {
		got, err := sim.userData(Instance{ID: "i-1", UserData: c.data})
		if c.notKubea {
			if err != ErrNotKubeadm {
				t.Errorf("%s: %q %v, want ErrNotKubeadm", c.what, got, err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, c.want) {
			t.Errorf("%s: %q %v", c.what, got, err)
		}
	}
}
