#!/usr/bin/python3
"""stoker stand-in for the WAL-E commands of the fleet's postgres image.

The real image runs WAL-E (wal-e backup-push / backup-fetch / wal-push) with
WALE_S3_PREFIX (s3://bucket/path), WALE_S3_ENDPOINT (WAL-E's
https+path://host:port) and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. These
commands keep that contract with S3 requests of their own (AWS Signature V4,
path-style), so they fail as the real ones do when the endpoint is not
reachable, refuses the credentials, or a variable is missing; the objects are
not in WAL-E's format:

  run-backup-push   the data directory as one .tar.gz, PUT to PREFIX/basebackups/
  run-backup-fetch  the newest PREFIX/basebackups/ object, unpacked into an empty data directory
  wal-push FILE     one WAL segment, PUT to PREFIX/wal/ (PostgreSQL's archive_command)

Exit 0 on success, 1 on failure (one line on standard error), 2 on wrong use.
"""

import os
import sys
import tarfile
import tempfile
import time

sys.path.insert(0, "/usr/local/lib/stoker-standin")
import standin  # noqa: E402  (the stand-in program, installed in every stand-in image)

PGDATA = "/var/lib/pgsql/data/userdata"


def main(argv):
    cmd = os.path.basename(argv[0])
    try:
        contract = standin.load_contract()
        if cmd not in contract["modes"]:
            raise standin.Usage(f"{cmd!r} is not a command of this image")
        standin.check_user(contract)
        standin.check_env(contract["modes"][cmd])
        client = standin.s3_client("WALE_S3_ENDPOINT")
        bucket, prefix = standin.parse_prefix(os.environ["WALE_S3_PREFIX"], "WALE_S3_PREFIX")
        if cmd == "run-backup-push":
            backup_push(client, bucket, prefix)
        elif cmd == "run-backup-fetch":
            backup_fetch(client, bucket, prefix)
        elif cmd == "wal-push":
            if len(argv) != 2:
                raise standin.Usage("usage: wal-push WAL_FILE")
            wal_push(client, bucket, prefix, argv[1])
        return 0
    except standin.Failure as exc:
        standin.say(f"postgres stand-in {cmd} FAILED: {exc}")
        return 1
    except standin.Usage as exc:
        standin.say(f"postgres stand-in {cmd}: {exc}")
        return 2


def backup_push(client, bucket, prefix):
    if not os.path.isfile(os.path.join(PGDATA, "PG_VERSION")):
        raise standin.Failure(f"no database cluster in {PGDATA}")
    client.newest(bucket, prefix + "basebackups/")  # the endpoint and the credentials, before any work
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    with tempfile.TemporaryDirectory() as tmp:
        archive = os.path.join(tmp, "base.tar.gz")
        try:
            with tarfile.open(archive, "w:gz") as tar:
                tar.add(PGDATA, arcname=".")
        except OSError as exc:
            raise standin.Failure(f"cannot read {PGDATA}: {exc.strerror}") from None
        key = f"{prefix}basebackups/base-{stamp}.tar.gz"
        client.request("PUT", bucket, key, body=archive)
    standin.say(f"stored s3://{bucket}/{key}")


def backup_fetch(client, bucket, prefix):
    if os.path.isdir(PGDATA) and os.listdir(PGDATA):
        raise standin.Failure(f"{PGDATA} is not empty; a backup is fetched into an empty data directory only")
    key = client.newest(bucket, prefix + "basebackups/")
    if key is None:
        raise standin.Failure("no base backup under the prefix in WALE_S3_PREFIX")
    with tempfile.TemporaryDirectory() as tmp:
        archive = os.path.join(tmp, "base.tar.gz")
        client.request("GET", bucket, key, out=archive)
        try:
            os.makedirs(PGDATA, mode=0o700, exist_ok=True)
            with tarfile.open(archive) as tar:
                tar.extractall(PGDATA, filter="data")
            os.chmod(PGDATA, 0o700)
        except (OSError, tarfile.TarError) as exc:
            raise standin.Failure(f"cannot unpack {key} into {PGDATA}: {exc}") from None
    standin.say(f"restored s3://{bucket}/{key} into {PGDATA}")


def wal_push(client, bucket, prefix, path):
    if not os.path.isfile(path):
        raise standin.Failure(f"no WAL file {path}")
    key = f"{prefix}wal/{os.path.basename(path)}"
    client.request("PUT", bucket, key, body=path)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
