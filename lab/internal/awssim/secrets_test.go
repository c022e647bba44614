package awssim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

func smTags(kv ...string) []smtypes.Tag {
	var tags []smtypes.Tag
	for i := 0; i < len(kv); i += 2 {
		tags = append(tags, smtypes.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return tags
}

// liveSecrets is the leak check's secrets: name to state.
func liveSecrets(e *env) map[string]string {
	out := map[string]string{}
	for _, r := range e.sim.Resources() {
		if r.Kind == "secret" {
			out[r.ID] = r.State
		}
	}
	return out
}

var secretARNPattern = regexp.MustCompile(`^arn:aws:secretsmanager:eu-west-1:123456789012:secret:aws\.cluster\.x-k8s\.io/m1-0-[A-Za-z0-9]{6}$`)

func TestSecretLifecycle(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	name := "aws.cluster.x-k8s.io/m1-0"
	value := []byte{0x1f, 0x8b, 0, 1, 2, 0xff}
	create := func(token string, v []byte) (*secretsmanager.CreateSecretOutput, error) {
		return e.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretBinary: v,
			Description: aws.String("Bootstrap data"), ClientRequestToken: aws.String(token),
			Tags: smTags("sigs.k8s.io/cluster-api-provider-aws/cluster/c1", "owned", "role", "bootstrap-data")})
	}
	const token = "11111111-2222-4333-8444-555555555555"
	made := try(create(token, value)).must(t)
	if !secretARNPattern.MatchString(*made.ARN) || *made.Name != name || *made.VersionId != token {
		t.Fatalf("CreateSecret = %s %s %v", *made.ARN, *made.Name, made.VersionId)
	}
	// A retry of the same call (the SDK keeps its token) is that call.
	if again := try(create(token, value)).must(t); *again.ARN != *made.ARN {
		t.Errorf("a retried CreateSecret made %s after %s", *again.ARN, *made.ARN)
	}
	_, err := create(token, []byte("other"))
	wantError(t, "the same token with another value", err, "ResourceExistsException", "can't modify an existing version")
	_, err = create("22222222-2222-4333-8444-555555555555", value)
	var exists *smtypes.ResourceExistsException
	if !errors.As(err, &exists) {
		t.Errorf("a second secret of the name: %v, want the SDK's ResourceExistsException", err)
	}

	for _, id := range []string{name, *made.ARN, strings.TrimSuffix(*made.ARN, (*made.ARN)[len(*made.ARN)-7:])} {
		got, err := e.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil {
			t.Errorf("GetSecretValue(%s): %v", id, err)
			continue
		}
		if !bytes.Equal(got.SecretBinary, value) || got.SecretString != nil || *got.ARN != *made.ARN || got.VersionStages[0] != "AWSCURRENT" {
			t.Errorf("GetSecretValue(%s) = %x %v %s %v", id, got.SecretBinary, got.SecretString, *got.ARN, got.VersionStages)
		}
	}
	_, err = e.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name + "x")})
	var notFound *smtypes.ResourceNotFoundException
	if !errors.As(err, &notFound) || !strings.Contains(err.Error(), "can't find the specified secret") {
		t.Errorf("GetSecretValue of a missing secret: %v", err)
	}

	desc := try(e.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})).must(t)
	if *desc.Description != "Bootstrap data" || len(desc.Tags) != 2 || *desc.Tags[1].Value != "bootstrap-data" ||
		!desc.CreatedDate.Equal(e.clock.Now()) || desc.DeletedDate != nil || len(desc.VersionIdsToStages[token]) != 1 {
		t.Errorf("DescribeSecret = %+v", desc)
	}
	if live := liveSecrets(e); len(live) != 1 || live[name] != "" {
		t.Errorf("live secrets = %v", live)
	}
	var leak LiveResource
	for _, r := range e.sim.Resources() {
		if r.Kind == "secret" {
			leak = r
		}
	}
	if leak.Tags["role"] != "bootstrap-data" {
		t.Errorf("the leak check's secret = %+v", leak)
	}

	// Deleted with the default window, it is kept for 30 days and can
	// neither be read nor made again.
	e.clock.Advance(time.Hour)
	del := try(e.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(name)})).must(t)
	if want := e.clock.Now().Add(30 * 24 * time.Hour); !del.DeletionDate.Equal(want) {
		t.Errorf("DeletionDate = %s, want %s", del.DeletionDate, want)
	}
	_, err = e.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	wantError(t, "reading a deleted secret", err, "InvalidRequestException", "marked for deletion")
	_, err = create("33333333-2222-4333-8444-555555555555", value)
	wantError(t, "making a deleted secret again", err, "InvalidRequestException", "already scheduled for deletion")
	_, err = e.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(name)})
	wantError(t, "deleting it twice", err, "InvalidRequestException", "marked for deletion")
	if desc := try(e.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})).must(t); desc.DeletedDate == nil {
		t.Error("DescribeSecret of a deleted secret shows no DeletedDate")
	}
	if live := liveSecrets(e); live[name] != "scheduled-for-deletion" {
		t.Errorf("a secret scheduled for deletion is listed as %v", live)
	}

	// Forcing its deletion ends it at once; the name is free again for a
	// secret of another ARN.
	try(e.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(name), ForceDeleteWithoutRecovery: aws.Bool(true)})).must(t)
	if live := liveSecrets(e); len(live) != 0 {
		t.Errorf("live secrets after a forced deletion: %v", live)
	}
	remade := try(create("44444444-2222-4333-8444-555555555555", value)).must(t)
	if *remade.ARN == *made.ARN {
		t.Errorf("a secret made again has the old ARN %s", *remade.ARN)
	}
}

func TestCreateSecretRefusals(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	create := func(in *secretsmanager.CreateSecretInput) error {
		_, err := e.sm.CreateSecret(ctx, in)
		return err
	}
	for _, name := range []string{"has space", "with:colon", "émoji", strings.Repeat("a", 513)} {
		err := create(&secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("v")})
		wantError(t, "name "+name[:min(len(name), 12)], err, "ValidationException", "")
	}
	if err := create(&secretsmanager.CreateSecretInput{Name: aws.String(strings.Repeat("a", 512)), SecretString: aws.String("v")}); err != nil {
		t.Errorf("a 512-character name: %v", err)
	}
	if err := create(&secretsmanager.CreateSecretInput{Name: aws.String("ok/_+=.@-Name9"), SecretBinary: make([]byte, 65536)}); err != nil {
		t.Errorf("a 65,536-byte value under a name of every allowed character: %v", err)
	}
	err := create(&secretsmanager.CreateSecretInput{Name: aws.String("big"), SecretBinary: make([]byte, 65537)})
	wantError(t, "a 65,537-byte value", err, "ValidationException", "secretBinary")
	err = create(&secretsmanager.CreateSecretInput{Name: aws.String("big"), SecretString: aws.String(strings.Repeat("x", 65537))})
	wantError(t, "a 65,537-character string", err, "ValidationException", "secretString")
	err = create(&secretsmanager.CreateSecretInput{Name: aws.String("both"), SecretString: aws.String("s"), SecretBinary: []byte("b")})
	wantError(t, "both values", err, "InvalidParameterException", "both a binary secret value and a string")
	err = create(&secretsmanager.CreateSecretInput{Name: aws.String("t"), SecretString: aws.String("s"), Tags: smTags("aws:owner", "x")})
	wantError(t, "an aws: tag", err, "InvalidParameterException", "aws:")
	err = create(&secretsmanager.CreateSecretInput{Name: aws.String("t"), SecretString: aws.String("s"), Tags: smTags(strings.Repeat("k", 129), "x")})
	wantError(t, "a 129-character tag key", err, "ValidationException", "tags.1.member.key")
	many := make([]string, 0, 102)
	for i := range 51 {
		many = append(many, "k"+strings.Repeat("x", i), "v")
	}
	err = create(&secretsmanager.CreateSecretInput{Name: aws.String("t"), SecretString: aws.String("s"), Tags: smTags(many...)})
	wantError(t, "51 tags", err, "InvalidParameterException", "")
	if live := liveSecrets(e); len(live) != 2 {
		t.Errorf("refused secrets were made: %v", live)
	}

	// A secret without a value is a secret; reading it finds no version.
	try(e.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("empty")})).must(t)
	_, err = e.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("empty")})
	wantError(t, "reading a secret without a value", err, "ResourceNotFoundException", "staging label: AWSCURRENT")
}

func TestDeleteSecretOptions(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	try(e.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("s"), SecretString: aws.String("v")})).must(t)
	del := func(in *secretsmanager.DeleteSecretInput) (*secretsmanager.DeleteSecretOutput, error) {
		return e.sm.DeleteSecret(ctx, in)
	}
	_, err := del(&secretsmanager.DeleteSecretInput{SecretId: aws.String("s"), ForceDeleteWithoutRecovery: aws.Bool(true), RecoveryWindowInDays: aws.Int64(7)})
	wantError(t, "both options", err, "InvalidParameterException", "in conjunction with RecoveryWindowInDays")
	for _, days := range []int64{6, 31} {
		_, err := del(&secretsmanager.DeleteSecretInput{SecretId: aws.String("s"), RecoveryWindowInDays: aws.Int64(days)})
		wantError(t, "a window out of range", err, "InvalidParameterException", "between 7 and 30")
	}
	out := try(del(&secretsmanager.DeleteSecretInput{SecretId: aws.String("s"), RecoveryWindowInDays: aws.Int64(7)})).must(t)
	if want := e.clock.Now().Add(7 * 24 * time.Hour); !out.DeletionDate.Equal(want) {
		t.Errorf("DeletionDate = %s, want %s", out.DeletionDate, want)
	}
	e.clock.Advance(7*24*time.Hour - time.Second)
	if live := liveSecrets(e); len(live) != 1 {
		t.Errorf("before its window ends: %v", live)
	}
	e.clock.Advance(time.Second)
	if live := liveSecrets(e); len(live) != 0 {
		t.Errorf("after its window: %v", live)
	}
	if _, err := del(&secretsmanager.DeleteSecretInput{SecretId: aws.String("s"), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Errorf("forcing the deletion of a secret that is gone: %v", err)
	}
	_, err = del(&secretsmanager.DeleteSecretInput{SecretId: aws.String("s")})
	wantError(t, "deleting a secret that is gone", err, "ResourceNotFoundException", "")
}

// A forced deletion completes in the background: until then the name
// stays taken.
func TestForcedDeletionCompletesInTheBackground(t *testing.T) {
	e := newEnv(t, Config{ConsistencyDelay: 2 * time.Second})
	ctx := context.Background()
	in := &secretsmanager.CreateSecretInput{Name: aws.String("s"), SecretString: aws.String("v")}
	try(e.sm.CreateSecret(ctx, in)).must(t)
	try(e.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("s"), ForceDeleteWithoutRecovery: aws.Bool(true)})).must(t)
	if live := liveSecrets(e); len(live) != 0 {
		t.Errorf("a secret deleted without recovery is listed as live: %v", live)
	}
	_, err := e.sm.CreateSecret(ctx, in)
	wantError(t, "making it again at once", err, "InvalidRequestException", "already scheduled for deletion")
	e.clock.Advance(2 * time.Second)
	try(e.sm.CreateSecret(ctx, in)).must(t)
}

func TestListSecrets(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	for _, s := range []struct{ name, desc string }{
		{"aws.cluster.x-k8s.io/a-0", "Bootstrap data of Machine a"},
		{"aws.cluster.x-k8s.io/b-0", "bootstrap data of Machine b"},
		{"Database-Creds", "credsDatabase#892"},
		{"database-other", ""},
	} {
		try(e.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(s.name), Description: aws.String(s.desc),
			SecretString: aws.String("v"), Tags: smTags("owner", strings.SplitN(s.name, "/", 2)[0], "Name", s.name)})).must(t)
		e.clock.Advance(time.Second)
	}
	try(e.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("database-other")})).must(t)

	list := func(include bool, filters ...smtypes.Filter) []string {
		t.Helper()
		var names []string
		p := secretsmanager.NewListSecretsPaginator(e.sm, &secretsmanager.ListSecretsInput{Filters: filters, IncludePlannedDeletion: aws.Bool(include),
			MaxResults: aws.Int32(1)})
		for p.HasMorePages() {
			for _, s := range try(p.NextPage(ctx)).must(t).SecretList {
				names = append(names, *s.Name)
			}
		}
		return names
	}
	filter := func(key smtypes.FilterNameStringType, values ...string) smtypes.Filter {
		return smtypes.Filter{Key: key, Values: values}
	}
	for _, c := range []struct {
		what    string
		include bool
		filters []smtypes.Filter
		want    string
	}{
		{"everything live, oldest first, a page each", false, nil, "aws.cluster.x-k8s.io/a-0 aws.cluster.x-k8s.io/b-0 Database-Creds"},
		{"with those planned for deletion", true, nil, "aws.cluster.x-k8s.io/a-0 aws.cluster.x-k8s.io/b-0 Database-Creds database-other"},
		{"a name prefix", false, []smtypes.Filter{filter("name", "aws.cluster.x-k8s.io/")}, "aws.cluster.x-k8s.io/a-0 aws.cluster.x-k8s.io/b-0"},
		{"names match case-sensitively", true, []smtypes.Filter{filter("name", "database-C")}, ""},
		{"names match from the start", true, []smtypes.Filter{filter("name", "Creds")}, ""},
		{"any of the values", true, []smtypes.Filter{filter("name", "Data", "data")}, "Database-Creds database-other"},
		{"descriptions match in any case", false, []smtypes.Filter{filter("description", "BOOTSTRAP")}, "aws.cluster.x-k8s.io/a-0 aws.cluster.x-k8s.io/b-0"},
		{"a tag key", false, []smtypes.Filter{filter("tag-key", "own")}, "aws.cluster.x-k8s.io/a-0 aws.cluster.x-k8s.io/b-0 Database-Creds"},
		{"a tag value", false, []smtypes.Filter{filter("tag-value", "aws.cluster")}, "aws.cluster.x-k8s.io/a-0 aws.cluster.x-k8s.io/b-0"},
		{"a negated value", false, []smtypes.Filter{filter("name", "!aws.")}, "Database-Creds"},
		{"every filter", false, []smtypes.Filter{filter("name", "aws."), filter("description", "Bootstrap data of Machine a")}, "aws.cluster.x-k8s.io/a-0"},
		{"all: words of the value, in any case", false, []smtypes.Filter{filter("all", "892")}, "Database-Creds"},
		{"all: words of camel case", false, []smtypes.Filter{filter("all", "DATABASE")}, "Database-Creds"},
		{"no primary region here", false, []smtypes.Filter{filter("primary-region", "eu")}, ""},
	} {
		if got := strings.Join(list(c.include, c.filters...), " "); got != c.want {
			t.Errorf("%s: %q, want %q", c.what, got, c.want)
		}
	}
	out := try(e.sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{Filters: []smtypes.Filter{filter("name", "Database")}})).must(t).SecretList
	if len(out) != 1 || len(out[0].Tags) != 2 || *out[0].Description != "credsDatabase#892" || out[0].CreatedDate == nil {
		t.Errorf("a list entry = %+v", out)
	}
	desc := try(e.sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{SortOrder: smtypes.SortOrderTypeDesc})).must(t).SecretList
	if len(desc) != 3 || *desc[0].Name != "Database-Creds" {
		t.Errorf("newest first: %+v", desc)
	}

	_, err := e.sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{Filters: []smtypes.Filter{filter("arn", "x")}})
	wantError(t, "an unknown filter key", err, "ValidationException", "filters.1.member.key")
	_, err = e.sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(101)})
	wantError(t, "101 results", err, "ValidationException", "maxResults")
	_, err = e.sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{NextToken: aws.String("bogus")})
	wantError(t, "a made-up token", err, "InvalidNextTokenException", "")
}

// ListSecrets lags behind, as Secrets Manager's does; a secret made a
// moment ago is found by name at once.
func TestListSecretsIsEventuallyConsistent(t *testing.T) {
	e := newEnv(t, Config{ConsistencyDelay: 2 * time.Second})
	ctx := context.Background()
	try(e.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("new"), SecretString: aws.String("v")})).must(t)
	if got := try(e.sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{})).must(t).SecretList; len(got) != 0 {
		t.Errorf("a secret made a moment ago is listed: %+v", got)
	}
	try(e.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("new")})).must(t)
	e.clock.Advance(2 * time.Second)
	if got := try(e.sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{})).must(t).SecretList; len(got) != 1 {
		t.Errorf("after the delay: %+v", got)
	}
}

func TestSecretsAreRegional(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	made := try(e.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("s"), SecretString: aws.String("v")})).must(t)
	other := func(o *secretsmanager.Options) { o.Region = "us-west-2" }
	for _, id := range []string{"s", *made.ARN} {
		_, err := e.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)}, other)
		wantError(t, "another region's secret", err, "ResourceNotFoundException", "")
	}
	try(e.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("s"), SecretString: aws.String("w")}, other)).must(t)
	if got := e.sim.Secrets(); len(got) != 2 || got[0].Region != "eu-west-1" || string(got[1].Value) != "w" {
		t.Errorf("Secrets() = %+v", got)
	}
}

func TestSecretsManagerCallsAndFaults(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	e.sim.SetFaults([]Fault{{Action: "secretsmanager:CreateSecret", Rate: 1, Error: "throttling"}, {Action: "GetSecretValue", Rate: 1, Error: "server"}})
	once := func(o *secretsmanager.Options) { o.RetryMaxAttempts = 1 }
	_, err := e.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("s"), SecretString: aws.String("v")}, once)
	wantError(t, "a throttled CreateSecret", err, "ThrottlingException", "Rate exceeded")
	_, err = e.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("s")}, once)
	var internal *smtypes.InternalServiceError
	if !errors.As(err, &internal) {
		t.Errorf("a server fault: %v, want the SDK's InternalServiceError", err)
	}
	// Half the calls throttled: the SDK's retries still make the secret,
	// once.
	e.sim.SetFaults([]Fault{{Action: "CreateSecret", Rate: 0.5, Error: "throttling"}})
	for range 2 {
		try(e.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("retried"), SecretString: aws.String("v"),
			ClientRequestToken: aws.String("55555555-2222-4333-8444-555555555555")})).must(t)
	}
	calls := e.sim.Calls()
	if calls["secretsmanager:CreateSecret"] < 3 || calls["secretsmanager:GetSecretValue"] != 1 {
		t.Errorf("calls = %v", calls)
	}
	if live := liveSecrets(e); len(live) != 1 {
		t.Errorf("live secrets = %v", live)
	}
}

// What the SDK cannot send, the service still refuses.
func TestSecretsManagerProtocolErrors(t *testing.T) {
	e := newEnv(t, Config{})
	srv := httptest.NewServer(e.sim)
	t.Cleanup(srv.Close)
	post := func(target, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", jsonContentType)
		req.Header.Set("X-Amz-Target", target)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post("secretsmanager.RotateSecret", `{}`); code != 400 || !strings.Contains(body, `"__type":"UnknownOperationException"`) {
		t.Errorf("an action the lab does not have: %d %s", code, body)
	}
	if code, body := post("secretsmanager.CreateSecret", `{"Name":`); code != 400 || !strings.Contains(body, "SerializationException") {
		t.Errorf("a broken body: %d %s", code, body)
	}
	if code, body := post("secretsmanager.GetSecretValue", `{}`); code != 400 || !strings.Contains(body, "ValidationException") {
		t.Errorf("no SecretId: %d %s", code, body)
	}
}
