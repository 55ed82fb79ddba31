#!/bin/sh
# One-shot for compose: create credx's bucket on MinIO and an access key that
# can reach only that bucket (the key is the one in secrets/s3_credentials).
# Safe to re-run.
set -eu
creds=/run/secrets/s3_credentials
key=$(sed -n 's/^aws_access_key_id *= *//p' "$creds")
secret=$(sed -n 's/^aws_secret_access_key *= *//p' "$creds")
mc alias set local http://blobstore:9000 \
    "$(cat /run/secrets/minio_root_user)" "$(cat /run/secrets/minio_root_password)" >/dev/null
mc mb --ignore-existing local/credx-blobs
cat > /tmp/credx-blobs-policy.json <<'POLICY'
{"Version": "2012-10-17",
 "Statement": [{"Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                           "s3:ListBucket", "s3:GetBucketLocation",
                           "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts",
                           "s3:ListBucketMultipartUploads"],
                "Resource": ["arn:aws:s3:::credx-blobs", "arn:aws:s3:::credx-blobs/*"]}]}
POLICY
mc admin policy create local credx-blobs /tmp/credx-blobs-policy.json
mc admin user add local "$key" "$secret"
mc admin policy attach local credx-blobs --user "$key" 2>/dev/null || true
echo "bucket credx-blobs ready for access key $key"
