#!/bin/sh
# stoker stand-in for the fleet's duplicity image: Debian's duplicity, its S3
# backend through boto3. Two commands (this script, by the name it is run as):
#   run-duplicity-backup   (default) back up /data/media to $BACKUP_TARGET: a
#                          full backup when the last one is older than
#                          $FULL_IF_OLDER_THAN, then remove chains older than
#                          $REMOVE_OLDER_THAN (both optional);
#   run-duplicity-restore  restore the latest backup of $BACKUP_TARGET into /data/media.
# PASSPHRASE encrypts (duplicity reads it from the environment), AWS_ACCESS_KEY_ID
# and AWS_SECRET_ACCESS_KEY are the S3 credentials (boto3 reads them), and
# S3_ENDPOINT (optional) is the S3 endpoint URL for a store other than AWS,
# passed as --s3-endpoint-url. duplicity(1) documents the options.
set -eu
cmd=$(basename "$0")
stoker-standin --check "$cmd"

set --
if [ -n "${S3_ENDPOINT:-}" ]; then
    set -- --s3-endpoint-url "$S3_ENDPOINT"
fi

case "$cmd" in
    run-duplicity-backup)
        if [ -n "${FULL_IF_OLDER_THAN:-}" ]; then
            set -- "$@" --full-if-older-than "$FULL_IF_OLDER_THAN"
        fi
        duplicity backup "$@" /data/media "$BACKUP_TARGET"
        if [ -n "${REMOVE_OLDER_THAN:-}" ]; then
            # the same endpoint option, without --full-if-older-than
            set --
            if [ -n "${S3_ENDPOINT:-}" ]; then
                set -- --s3-endpoint-url "$S3_ENDPOINT"
            fi
            duplicity remove-older-than "$REMOVE_OLDER_THAN" --force "$@" "$BACKUP_TARGET"
        fi
        ;;
    run-duplicity-restore)
        duplicity restore --force "$@" "$BACKUP_TARGET" /data/media
        ;;
    *)
        echo "duplicity stand-in: unknown command $cmd" >&2
        exit 2
        ;;
esac
