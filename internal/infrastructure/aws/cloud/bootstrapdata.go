package cloud

import (
	"bytes"
	"strconv"
	"text/template"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/bootstrapdata"
)

// Bootstrap data through AWS Secrets Manager. A control plane machine's
// bootstrap data holds the cluster's certificate authorities' and service
// account private keys; inline in EC2 user data they stay readable for the
// instance's life (DescribeInstanceAttribute, and the instance metadata
// service from the node). Instead, as Cluster API Provider AWS does, the
// data is stored as secrets, and the instance's user data is a boothook
// that fetches them, deletes them and hands the data to cloud-init.

// SecretPrefixRoot is where bootstrap data secrets are stored: the prefix
// Cluster API Provider AWS uses, so that the node IAM policies written for
// it (GetSecretValue and DeleteSecret on aws.cluster.x-k8s.io/*) work.
const SecretPrefixRoot = "aws.cluster.x-k8s.io/"

// The instance profiles clusterawsadm creates for Cluster API Provider AWS,
// whose roles may read and delete the bootstrap data: those of machines
// that name none.
const (
	ControlPlaneInstanceProfile = "control-plane.cluster-api-provider-aws.sigs.k8s.io"
	NodesInstanceProfile        = "nodes.cluster-api-provider-aws.sigs.k8s.io"
)

// SecretChunkSize is the largest chunk of compressed bootstrap data stored
// in one secret, below Secrets Manager's limit of 65,536 bytes per
// SecretBinary.
const SecretChunkSize = 60 * 1024

// BootstrapFile is where the boothook writes the bootstrap data on the
// instance.
const BootstrapFile = bootstrapdata.File

// SecretPrefix is the secret name prefix of one attempt to store a
// machine's bootstrap data: the AWSMachine's UID, which never repeats, and
// the attempt's own suffix. A name is never used twice: Secrets Manager
// keeps a deleted secret's name taken for a while, even when forced.
func SecretPrefix(machineUID, attempt string) string {
	return SecretPrefixRoot + machineUID + "-" + attempt
}

// MachineSecretPrefix is what every prefix of a machine's attempts starts
// with.
func MachineSecretPrefix(machineUID string) string { return SecretPrefixRoot + machineUID + "-" }

// SecretName is the name of chunk i of the data under prefix.
func SecretName(prefix string, i int) string { return prefix + "-" + strconv.Itoa(i) }

// ChunkBootstrapData compresses data and splits it into chunks of at most
// SecretChunkSize bytes.
func ChunkBootstrapData(data []byte) ([][]byte, error) {
	gz, err := bootstrapdata.Gzip(data)
	if err != nil {
		return nil, err
	}
	var chunks [][]byte
	for len(gz) > 0 {
		n := min(len(gz), SecretChunkSize)
		chunks = append(chunks, gz[:n])
		gz = gz[n:]
	}
	return chunks, nil
}

// fetchScript is the boothook. cloud-init runs boothooks on every boot,
// before it reads the rest of the user data: the first boot fetches the
// chunks, deletes them (whatever happens, so that none outlives the boot),
// writes the data for root alone, and restarts cloud-init, which then
// takes the data through the include part. Later boots find the file.
var fetchScript = template.Must(template.New("fetch").Parse(`#!/bin/bash
# Fetches this instance's bootstrap data from AWS Secrets Manager, deletes
# it there, and hands it to cloud-init. The instance profile needs
# secretsmanager:GetSecretValue and secretsmanager:DeleteSecret on the prefix.
set -o nounset -o pipefail
umask 077
SECRET_PREFIX="{{.Prefix}}"
CHUNKS="{{.Chunks}}"
REGION="{{.Region}}"
FILE="{{.File}}"

if [ -s "$FILE" ]; then
  exit 0
fi

delete_chunks() {
  for i in $(seq 0 $((CHUNKS - 1))); do
    aws secretsmanager delete-secret --region "$REGION" --secret-id "${SECRET_PREFIX}-${i}" --force-delete-without-recovery >/dev/null 2>&1 || true
  done
}

rm -f "${FILE}.gz"
for i in $(seq 0 $((CHUNKS - 1))); do
  if ! aws secretsmanager get-secret-value --region "$REGION" --secret-id "${SECRET_PREFIX}-${i}" --query SecretBinary --output text | base64 -d >> "${FILE}.gz"; then
    echo "cannot read bootstrap data ${SECRET_PREFIX}-${i}" >&2
    delete_chunks
    rm -f "${FILE}.gz"
    exit 1
  fi
done
delete_chunks
gunzip -f "${FILE}.gz"
systemctl restart cloud-init
`))

// BoothookUserData is the user data of an instance whose bootstrap data is
// stored under prefix in count chunks (see bootstrapdata.UserData).
func BoothookUserData(prefix string, count int, region string) ([]byte, error) {
	var script bytes.Buffer
	if err := fetchScript.Execute(&script, map[string]any{"Prefix": prefix, "Chunks": count, "Region": region, "File": BootstrapFile}); err != nil {
		return nil, err
	}
	return bootstrapdata.UserData(script.String())
}
