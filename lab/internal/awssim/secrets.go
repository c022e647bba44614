package awssim

import (
	"crypto/rand"
	"encoding/base64"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Secrets Manager, as a Cluster API provider uses it to keep bootstrap
// data out of EC2 user data: CreateSecret, GetSecretValue, DeleteSecret,
// DescribeSecret and ListSecrets. Secrets are regional: a secret lives in
// the region of the request that made it and is found only there.

// secret is one Secrets Manager secret.
type secret struct {
	region, name, arn string
	description       string
	kmsKeyID          string
	tags              []Tag
	// version is the AWSCURRENT version, nil for a secret made without a
	// value.
	version                    *secretVersion
	created, changed, accessed time.Time
	// deleted is the DeletedDate of a secret scheduled for deletion, zero
	// for a live one.
	deleted time.Time
	// purgeAt is when a deleted secret is gone for good: the end of its
	// recovery window, or for a forced deletion the moment Secrets
	// Manager's background deletion completes.
	purgeAt time.Time
	forced  bool
}

type secretVersion struct {
	id      string
	binary  []byte
	str     *string
	created time.Time
}

func (v *secretVersion) sameValue(binary []byte, str *string) bool {
	if (v.str == nil) != (str == nil) || (v.str != nil && *v.str != *str) {
		return false
	}
	return string(v.binary) == string(binary)
}

// Secrets Manager's limits.
const (
	secretNameMax        = 512
	secretIDMax          = 2048
	secretValueMax       = 65536
	secretDescriptionMax = 2048
	secretTokenMin       = 32
	secretTokenMax       = 64
	secretTagsMax        = 50
	secretListMax        = 100
	recoveryWindowMin    = 7
	recoveryWindowMax    = 30
	recoveryWindowDef    = 30
)

// Secret names are ASCII letters, digits and /_+=.@-; an ID may also be
// an ARN, which adds the colons.
var (
	secretNamePattern = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]+$`)
	secretIDPattern   = regexp.MustCompile(`^[A-Za-z0-9/_+=.@:-]+$`)
	// tagTextPattern is what Secrets Manager's tag keys and values may hold.
	tagTextPattern = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
)

const invalidSecretName = "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"

func secretKey(region, name string) string { return region + "\x00" + name }

// secretARN is the ARN of a new secret: its name and a hyphen and six
// random characters, so that a secret made again under a deleted one's
// name has another ARN.
func secretARN(region, name string) string {
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return "arn:aws:secretsmanager:" + region + ":" + accountID + ":secret:" + name + "-" + string(b)
}

func secretNotFound() *apiError {
	return badRequest("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
}

func markedForDeletion() *apiError {
	return badRequest("InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.")
}

func invalidParameter(format string, args ...any) *apiError {
	return badRequest("InvalidParameterException", format, args...)
}

// checkSecretID applies the model's rules for a SecretId.
func checkSecretID(id string) *apiError {
	switch {
	case id == "":
		return validationError("Value null at 'secretId' failed to satisfy constraint: Member must not be null")
	case len(id) > secretIDMax:
		return validationError("Value '%s' at 'secretId' failed to satisfy constraint: Member must have length less than or equal to %d", id, secretIDMax)
	case !secretIDPattern.MatchString(id):
		return badRequest("ValidationException", invalidSecretName)
	}
	return nil
}

// findSecret finds the secret a SecretId names in region: by name, by its
// ARN, or by its ARN without the random suffix (a partial ARN).
func (s *Simulator) findSecret(region, id string) *secret {
	if !strings.HasPrefix(id, "arn:") {
		return s.secrets[secretKey(region, id)]
	}
	for _, sec := range s.secrets {
		if sec.region == region && (sec.arn == id || sec.arn[:len(sec.arn)-len("-XXXXXX")] == id) {
			return sec
		}
	}
	return nil
}

// purgeSecrets drops the deleted secrets whose time is up. It runs with
// the lock held, from advance.
func (s *Simulator) purgeSecrets(now time.Time) {
	for k, sec := range s.secrets {
		if !sec.purgeAt.IsZero() && !now.Before(sec.purgeAt) {
			delete(s.secrets, k)
		}
	}
}

type smTagList []Tag

// check applies Secrets Manager's tag rules: at most 50 tags, keys of 1
// to 128 characters and values of up to 256, none of them under aws:,
// and no key twice.
func (tags smTagList) check() *apiError {
	if len(tags) > secretTagsMax {
		return invalidParameter("Number of tags exceeds the limit of %d per secret.", secretTagsMax)
	}
	seen := map[string]bool{}
	for i, t := range tags {
		n := utf8.RuneCountInString(t.Key)
		switch {
		case n < 1:
			return validationError("Value '' at 'tags.%d.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1", i+1)
		case n > maxTagKeyLength:
			return validationError("Value '%s' at 'tags.%d.member.key' failed to satisfy constraint: Member must have length less than or equal to %d", t.Key, i+1, maxTagKeyLength)
		case utf8.RuneCountInString(t.Value) > maxTagValueLength:
			return validationError("Value '%s' at 'tags.%d.member.value' failed to satisfy constraint: Member must have length less than or equal to %d", t.Value, i+1, maxTagValueLength)
		case !tagTextPattern.MatchString(t.Key):
			return validationError("Value '%s' at 'tags.%d.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$", t.Key, i+1)
		case !tagTextPattern.MatchString(t.Value):
			return validationError("Value '%s' at 'tags.%d.member.value' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$", t.Value, i+1)
		case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
			return invalidParameter("Invalid tag key. The aws: prefix is reserved for AWS use.")
		case seen[t.Key]:
			return invalidParameter("Duplicate tag key %s.", t.Key)
		}
		seen[t.Key] = true
	}
	return nil
}

type createSecretInput struct {
	Name               string
	ClientRequestToken string
	Description        *string
	KmsKeyId           string
	SecretBinary       []byte
	SecretString       *string
	Tags               smTagList
}

func (s *Simulator) createSecret(body []byte, region string) (any, *apiError) {
	var in createSecretInput
	if e := decodeInput(body, &in); e != nil {
		return nil, e
	}
	switch {
	case in.Name == "":
		return nil, validationError("Value null at 'name' failed to satisfy constraint: Member must not be null")
	case len(in.Name) > secretNameMax:
		return nil, validationError("Value '%s' at 'name' failed to satisfy constraint: Member must have length less than or equal to %d", in.Name, secretNameMax)
	case !secretNamePattern.MatchString(in.Name):
		return nil, badRequest("ValidationException", invalidSecretName)
	case in.Description != nil && utf8.RuneCountInString(*in.Description) > secretDescriptionMax:
		return nil, validationError("Value '%s' at 'description' failed to satisfy constraint: Member must have length less than or equal to %d", *in.Description, secretDescriptionMax)
	case in.ClientRequestToken != "" && (len(in.ClientRequestToken) < secretTokenMin || len(in.ClientRequestToken) > secretTokenMax):
		return nil, validationError("Value '%s' at 'clientRequestToken' failed to satisfy constraint: Member must have length between %d and %d",
			in.ClientRequestToken, secretTokenMin, secretTokenMax)
	// The values are sensitive: the message does not echo them.
	case len(in.SecretBinary) > secretValueMax:
		return nil, validationError("Value at 'secretBinary' failed to satisfy constraint: Member must have length less than or equal to %d", secretValueMax)
	case in.SecretString != nil && utf8.RuneCountInString(*in.SecretString) > secretValueMax:
		return nil, validationError("Value at 'secretString' failed to satisfy constraint: Member must have length less than or equal to %d", secretValueMax)
	case in.SecretBinary != nil && in.SecretString != nil:
		return nil, invalidParameter("You can't specify both a binary secret value and a string secret value in the same secret.")
	}
	if e := in.Tags.check(); e != nil {
		return nil, e
	}
	hasValue := in.SecretBinary != nil || in.SecretString != nil
	if existing := s.secrets[secretKey(region, in.Name)]; existing != nil {
		if !existing.deleted.IsZero() {
			return nil, badRequest("InvalidRequestException", "You can't create this secret because a secret with this name is already scheduled for deletion.")
		}
		// A retry of the call that made the secret (the SDK keeps the
		// token it generated across retries) succeeds as that call did.
		if v := existing.version; v != nil && hasValue && in.ClientRequestToken == v.id {
			if !v.sameValue(in.SecretBinary, in.SecretString) {
				return nil, badRequest("ResourceExistsException", "You can't modify an existing version, you can only create new versions.")
			}
			return createSecretOutput(existing), nil
		}
		return nil, badRequest("ResourceExistsException", "The operation failed because the secret %s already exists.", in.Name)
	}
	now := s.now()
	sec := &secret{region: region, name: in.Name, arn: secretARN(region, in.Name), kmsKeyID: in.KmsKeyId,
		tags: append([]Tag(nil), in.Tags...), created: now, changed: now}
	if in.Description != nil {
		sec.description = *in.Description
	}
	if hasValue {
		token := in.ClientRequestToken
		if token == "" {
			token = newUUID()
		}
		sec.version = &secretVersion{id: token, binary: in.SecretBinary, str: in.SecretString, created: now}
	}
	s.secrets[secretKey(region, in.Name)] = sec
	return createSecretOutput(sec), nil
}

func createSecretOutput(sec *secret) any {
	out := struct {
		ARN       string
		Name      string
		VersionId string `json:",omitempty"`
	}{ARN: sec.arn, Name: sec.name}
	if sec.version != nil {
		out.VersionId = sec.version.id
	}
	return out
}

func newUUID() string {
	b := []byte(requestID())
	b[14] = '4'
	return string(b)
}

type getSecretValueInput struct {
	SecretId     string
	VersionId    string
	VersionStage string
}

// secretValue is GetSecretValue's answer.
type secretValue struct {
	ARN           string
	Name          string
	VersionId     string
	SecretBinary  []byte  `json:",omitempty"`
	SecretString  *string `json:",omitempty"`
	VersionStages []string
	CreatedDate   epochTime
}

func (s *Simulator) getSecretValue(body []byte, region string) (any, *apiError) {
	var in getSecretValueInput
	if e := decodeInput(body, &in); e != nil {
		return nil, e
	}
	return s.readSecretValue(region, in)
}

// readSecretValue is GetSecretValue, for a client's request or an
// instance's own call.
func (s *Simulator) readSecretValue(region string, in getSecretValueInput) (*secretValue, *apiError) {
	if e := checkSecretID(in.SecretId); e != nil {
		return nil, e
	}
	sec := s.findSecret(region, in.SecretId)
	if sec == nil {
		return nil, secretNotFound()
	}
	if !sec.deleted.IsZero() {
		return nil, markedForDeletion()
	}
	v := sec.version
	switch {
	case in.VersionStage != "" && (v == nil || in.VersionStage != "AWSCURRENT"):
		return nil, badRequest("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: %s", in.VersionStage)
	case in.VersionId != "" && (v == nil || in.VersionId != v.id):
		return nil, badRequest("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId: %s", in.VersionId)
	case v == nil:
		return nil, badRequest("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT")
	}
	// LastAccessedDate keeps the day only.
	sec.accessed = s.now().UTC().Truncate(24 * time.Hour)
	return &secretValue{ARN: sec.arn, Name: sec.name, VersionId: v.id, SecretBinary: v.binary, SecretString: v.str,
		VersionStages: []string{"AWSCURRENT"}, CreatedDate: epochTime(v.created)}, nil
}

type deleteSecretInput struct {
	SecretId                   string
	ForceDeleteWithoutRecovery *bool
	RecoveryWindowInDays       *int64
}

type deleteSecretOutput struct {
	ARN          string `json:",omitempty"`
	Name         string
	DeletionDate epochTime
}

func (s *Simulator) deleteSecret(body []byte, region string) (any, *apiError) {
	var in deleteSecretInput
	if e := decodeInput(body, &in); e != nil {
		return nil, e
	}
	return s.removeSecret(region, in)
}

// removeSecret is DeleteSecret, for a client's request or an instance's
// own call.
func (s *Simulator) removeSecret(region string, in deleteSecretInput) (*deleteSecretOutput, *apiError) {
	if e := checkSecretID(in.SecretId); e != nil {
		return nil, e
	}
	force := in.ForceDeleteWithoutRecovery != nil && *in.ForceDeleteWithoutRecovery
	window := int64(recoveryWindowDef)
	if in.RecoveryWindowInDays != nil {
		if force {
			return nil, invalidParameter("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
		}
		window = *in.RecoveryWindowInDays
		if window < recoveryWindowMin || window > recoveryWindowMax {
			return nil, invalidParameter("The RecoveryWindowInDays value must be between %d and %d days (inclusive).", recoveryWindowMin, recoveryWindowMax)
		}
	}
	now := s.now()
	sec := s.findSecret(region, in.SecretId)
	if sec == nil {
		// Forcing the deletion of a secret that is not there succeeds.
		if force {
			return &deleteSecretOutput{Name: in.SecretId, DeletionDate: epochTime(now)}, nil
		}
		return nil, secretNotFound()
	}
	switch {
	case force:
		// The deletion itself runs in the background: until it completes
		// the name is still taken, as by a secret scheduled for deletion.
		if sec.deleted.IsZero() {
			sec.deleted = now
		}
		sec.forced, sec.purgeAt, sec.changed = true, now.Add(s.cfg.ConsistencyDelay), now
		return &deleteSecretOutput{ARN: sec.arn, Name: sec.name, DeletionDate: epochTime(now)}, nil
	case !sec.deleted.IsZero():
		return nil, markedForDeletion()
	}
	sec.deleted, sec.changed = now, now
	sec.purgeAt = now.Add(time.Duration(window) * 24 * time.Hour)
	return &deleteSecretOutput{ARN: sec.arn, Name: sec.name, DeletionDate: epochTime(sec.purgeAt)}, nil
}

// secretEntry is a secret as DescribeSecret and ListSecrets show it.
type secretEntry struct {
	ARN                    string
	Name                   string
	Description            string `json:",omitempty"`
	KmsKeyId               string `json:",omitempty"`
	LastChangedDate        *epochTime
	LastAccessedDate       *epochTime          `json:",omitempty"`
	DeletedDate            *epochTime          `json:",omitempty"`
	Tags                   []Tag               `json:",omitempty"`
	SecretVersionsToStages map[string][]string `json:",omitempty"`
	VersionIdsToStages     map[string][]string `json:",omitempty"`
	CreatedDate            *epochTime
}

func (sec *secret) entry() secretEntry {
	e := secretEntry{ARN: sec.arn, Name: sec.name, Description: sec.description, KmsKeyId: sec.kmsKeyID,
		LastChangedDate: epochPtr(sec.changed), LastAccessedDate: epochPtr(sec.accessed), DeletedDate: epochPtr(sec.deleted),
		Tags: sec.tags, CreatedDate: epochPtr(sec.created)}
	if sec.version != nil {
		e.SecretVersionsToStages = map[string][]string{sec.version.id: {"AWSCURRENT"}}
	}
	return e
}

func (s *Simulator) describeSecret(body []byte, region string) (any, *apiError) {
	var in struct{ SecretId string }
	if e := decodeInput(body, &in); e != nil {
		return nil, e
	}
	if e := checkSecretID(in.SecretId); e != nil {
		return nil, e
	}
	sec := s.findSecret(region, in.SecretId)
	if sec == nil {
		return nil, secretNotFound()
	}
	// DescribeSecret names the versions under another key than
	// ListSecrets.
	e := sec.entry()
	e.VersionIdsToStages, e.SecretVersionsToStages = e.SecretVersionsToStages, nil
	return e, nil
}

type listSecretsInput struct {
	Filters                []secretFilter
	IncludePlannedDeletion bool
	MaxResults             *int
	NextToken              string
	SortBy                 string
	SortOrder              string
}

func (s *Simulator) listSecrets(body []byte, region string) (any, *apiError) {
	var in listSecretsInput
	if e := decodeInput(body, &in); e != nil {
		return nil, e
	}
	if in.MaxResults != nil && (*in.MaxResults < 1 || *in.MaxResults > secretListMax) {
		return nil, validationError("Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and %d", *in.MaxResults, secretListMax)
	}
	if e := checkSecretFilters(in.Filters); e != nil {
		return nil, e
	}
	less, e := secretOrder(in.SortBy, in.SortOrder)
	if e != nil {
		return nil, e
	}
	var list []*secret
	for _, sec := range s.secrets {
		// ListSecrets is eventually consistent: a secret made a moment
		// ago is not listed yet.
		if sec.region != region || s.notYetVisible(sec.created) {
			continue
		}
		if !sec.deleted.IsZero() && !in.IncludePlannedDeletion {
			continue
		}
		if matchSecretFilters(in.Filters, sec) {
			list = append(list, sec)
		}
	}
	sort.Slice(list, func(i, j int) bool { return less(list[i], list[j]) })

	// The token is the position of the next entry, opaque to clients.
	start := 0
	if in.NextToken != "" {
		i, ok := decodeSecretToken(in.NextToken, list)
		if !ok {
			return nil, badRequest("InvalidNextTokenException", "The NextToken value is invalid.")
		}
		start = i
	}
	limit := secretListMax
	if in.MaxResults != nil {
		limit = *in.MaxResults
	}
	out := struct {
		SecretList []secretEntry
		NextToken  string `json:",omitempty"`
	}{SecretList: []secretEntry{}}
	end := min(start+limit, len(list))
	for _, sec := range list[start:end] {
		out.SecretList = append(out.SecretList, sec.entry())
	}
	if end < len(list) {
		out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(list[end].arn))
	}
	return out, nil
}

// decodeSecretToken finds the entry a NextToken points at.
func decodeSecretToken(token string, list []*secret) (int, bool) {
	arn, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, false
	}
	for i, sec := range list {
		if sec.arn == string(arn) {
			return i, true
		}
	}
	return 0, false
}

// secretOrder is ListSecrets' SortBy (by default created-date) and
// SortOrder (asc or desc), ties broken by name.
func secretOrder(by, order string) (func(a, b *secret) bool, *apiError) {
	var key func(a, b *secret) int
	switch by {
	case "", "created-date":
		key = func(a, b *secret) int { return a.created.Compare(b.created) }
	case "last-accessed-date":
		key = func(a, b *secret) int { return a.accessed.Compare(b.accessed) }
	case "last-changed-date":
		key = func(a, b *secret) int { return a.changed.Compare(b.changed) }
	case "name":
		key = func(a, b *secret) int { return strings.Compare(a.name, b.name) }
	default:
		return nil, validationError("Value '%s' at 'sortBy' failed to satisfy constraint: Member must satisfy enum value set: [created-date, last-accessed-date, last-changed-date, name]", by)
	}
	desc := false
	switch order {
	case "", "asc":
	case "desc":
		desc = true
	default:
		return nil, validationError("Value '%s' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: [asc, desc]", order)
	}
	return func(a, b *secret) bool {
		c := key(a, b)
		if c == 0 {
			c = strings.Compare(a.arn, b.arn)
		}
		if desc {
			return c > 0
		}
		return c < 0
	}, nil
}

var secretsActions = map[string]jsonHandler{
	"CreateSecret":   (*Simulator).createSecret,
	"GetSecretValue": (*Simulator).getSecretValue,
	"DeleteSecret":   (*Simulator).deleteSecret,
	"DescribeSecret": (*Simulator).describeSecret,
	"ListSecrets":    (*Simulator).listSecrets,
}

// Secret is a secret as the lab's tests see it.
type Secret struct {
	Region, Name, ARN, Description string
	Tags                           map[string]string
	// Value is the SecretBinary, or the SecretString's bytes.
	Value []byte
	// DeletedDate is set for a secret scheduled for deletion.
	DeletedDate time.Time
}

// Secrets lists every secret that exists, in every region, including
// those scheduled for deletion (not those deleted without recovery,
// which are as good as gone), sorted by region and name.
func (s *Simulator) Secrets() []Secret {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	var out []Secret
	for _, sec := range s.secrets {
		if sec.forced {
			continue
		}
		out = append(out, sec.public())
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Region != out[j].Region {
			return out[i].Region < out[j].Region
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func (sec *secret) public() Secret {
	out := Secret{Region: sec.region, Name: sec.name, ARN: sec.arn, Description: sec.description, Tags: tagMap(sec.tags), DeletedDate: sec.deleted}
	if v := sec.version; v != nil {
		out.Value = append([]byte(nil), v.binary...)
		if v.str != nil {
			out.Value = []byte(*v.str)
		}
	}
	return out
}
