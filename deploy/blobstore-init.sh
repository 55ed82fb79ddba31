#!/bin/sh
# One-shot for compose: create credx's bucket on MinIO and an access key that
# can reach only that bucket (the key is the one in secrets/s3_credentials).
# Safe to re-run.  Shell builtins and mc only (the minio/mc image is minimal).
set -eu
secrets=${SECRETS_DIR:-/run/secrets}
key='' secret=''
while IFS=' =' read -r name value; do
    case "$name" in
        aws_access_key_id) key=$value ;;
        aws_secret_access_key) secret=$value ;;
    esac
done < "$secrets/s3_credentials"
[ -n "$key" ] && [ -n "$secret" ] || { echo "no access key in s3_credentials" >&2; exit 1; }
read -r root_user < "$secrets/minio_root_user"
read -r root_password < "$secrets/minio_root_password"
mc alias set local http://blobstore:9000 "$root_user" "$root_password" >/dev/null
mc mb --ignore-existing local/credx-blobs
printf '%s\n' '{"Version": "2012-10-17",
 "Statement": [{"Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                           "s3:ListBucket", "s3:GetBucketLocation",
                           "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts",
                           "s3:ListBucketMultipartUploads"],
                "Resource": ["arn:aws:s3:::credx-blobs", "arn:aws:s3:::credx-blobs/*"]}]}' \
    > "${TMPDIR:-/tmp}/credx-blobs-policy.json"
mc admin policy create local credx-blobs "${TMPDIR:-/tmp}/credx-blobs-policy.json"
mc admin user add local "$key" "$secret"
mc admin policy attach local credx-blobs --user "$key" 2>/dev/null || true
# The checkpoint witness: object lock on, so a checkpoint once written stays (COMPLIANCE);
# credx may add and read checkpoints, never delete one.
mc mb --ignore-existing --with-lock local/credx-checkpoints
printf '%s\n' '{"Version": "2012-10-17",
 "Statement": [{"Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket",
                           "s3:GetBucketLocation", "s3:GetBucketObjectLockConfiguration",
                           "s3:PutObjectRetention"],
                "Resource": ["arn:aws:s3:::credx-checkpoints",
                             "arn:aws:s3:::credx-checkpoints/*"]}]}' \
    > "${TMPDIR:-/tmp}/credx-checkpoints-policy.json"
mc admin policy create local credx-checkpoints "${TMPDIR:-/tmp}/credx-checkpoints-policy.json"
mc admin policy attach local credx-checkpoints --user "$key" 2>/dev/null || true
echo "bucket credx-blobs ready for access key $key"
