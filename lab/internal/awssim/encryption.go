package awssim

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
)

// EBS encryption of the volumes RunInstances makes. A mapping's
// Ebs.Encrypted turns it on, with the account's AWS managed key
// (alias/aws/ebs) unless Ebs.KmsKeyId names another; a key without
// Encrypted is refused. EBS checks the key only once the instance
// launches: a key it cannot use (malformed, or of another region) lets
// RunInstances succeed and the instance then terminates while pending,
// with the state reason Client.InvalidKMSKey.InvalidState. The lab has no
// KMS: every key and alias of the instance's region exists, and
// DescribeVolumes shows the key's ARN as EBS does, an alias resolved to
// a key ID of its own.

// defaultEBSKey is the AWS managed key EBS encrypts with by default.
const defaultEBSKey = "alias/aws/ebs"

var (
	kmsKeyIDPattern = regexp.MustCompile(`^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
	kmsAliasPattern = regexp.MustCompile(`^alias/[A-Za-z0-9/_-]{1,250}$`)
	kmsARNPattern   = regexp.MustCompile(`^arn:aws:kms:([a-z0-9-]+):([0-9]{12}):(key|alias)/(.+)$`)
)

// ebsEncryption reads a block device mapping's encryption: whether it is
// encrypted and the key it names ("" for the default key).
func ebsEncryption(bd params) (encrypted bool, kmsKeyID string, _ *apiError) {
	encrypted = bd.get("Ebs.Encrypted") == "true"
	kmsKeyID = bd.get("Ebs.KmsKeyId")
	if bd.has("Ebs.KmsKeyId") && !encrypted {
		return false, "", badRequest("InvalidParameterDependency", "The parameter KmsKeyId requires the parameter Encrypted to be set.")
	}
	return encrypted, kmsKeyID, nil
}

// kmsKeyARN is the ARN of the key that id (a key ID, key ARN, alias name
// or alias ARN; "" for EBS's default) stands for in region, and false
// for one EBS cannot use there.
func kmsKeyARN(region, id string) (string, bool) {
	if id == "" {
		id = defaultEBSKey
	}
	switch {
	case kmsKeyIDPattern.MatchString(id):
		return keyARN(region, accountID, id), true
	case kmsAliasPattern.MatchString(id):
		return keyARN(region, accountID, aliasKeyID(region, accountID, id)), true
	}
	m := kmsARNPattern.FindStringSubmatch(id)
	// KMS keys are regional: one of another region does not encrypt here.
	if m == nil || m[1] != region {
		return "", false
	}
	switch account, kind, rest := m[2], m[3], m[4]; {
	case kind == "key" && kmsKeyIDPattern.MatchString(rest):
		return id, true
	case kind == "alias" && kmsAliasPattern.MatchString("alias/"+rest):
		return keyARN(region, account, aliasKeyID(region, account, "alias/"+rest)), true
	}
	return "", false
}

func keyARN(region, account, keyID string) string {
	return "arn:aws:kms:" + region + ":" + account + ":key/" + keyID
}

// aliasKeyID is the key an alias points at: derived from the alias, so
// that it stays the same.
func aliasKeyID(region, account, alias string) string {
	sum := sha256.Sum256([]byte("kms/" + region + "/" + account + "/" + alias))
	h := hex.EncodeToString(sum[:16])
	return strings.Join([]string{h[:8], h[8:12], "4" + h[13:16], h[16:20], h[20:32]}, "-")
}

// stateReason is why an instance changed state, as DescribeInstances
// shows it.
type stateReason struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

// invalidKMSKey is why an instance whose volume's key EBS cannot use
// terminates at launch.
var invalidKMSKey = &stateReason{Code: "Client.InvalidKMSKey.InvalidState",
	Message: "Client.InvalidKMSKey.InvalidState: The KMS key provided is in an incorrect state"}
