"""The IMS media backup as duplicity 2/3 (boto3 backend, `s3://` URLs) reads it.

duplicity's S3 backend takes the first path element of s3://… as the bucket and
never the host (the old boto2 form s3://host/bucket/prefix made the store's host
name a bucket on AWS); the store's address goes to --s3-endpoint-url, which the
duplicity image takes from S3_ENDPOINT. The restore job writes into media owned
by 1001 as root, so it needs CHOWN, DAC_OVERRIDE and FOWNER under cap_drop: all
(tests/boot/test_backup_e2e.py shows both against a real duplicity).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from stoker.fleet.definitions import load_fleet


def test_duplicity_jobs_name_a_bucket_and_the_endpoint_apart():
    fleet = load_fleet()
    for vm_name, job_name in (("ims", "duplicity"), ("ims", "duplicity-restore"), ("ims-staging", "duplicity-restore")):
        job = fleet.vms[vm_name].jobs[job_name]
        target = urlsplit(job.environment["BACKUP_TARGET"])
        assert target.scheme == "s3"
        assert "." not in target.netloc, f"{vm_name} {job_name}: {target.netloc} would be read as the bucket"
        assert target.netloc == "ebisc-backups" and target.path == "/ims/media"
        assert urlsplit(job.environment["S3_ENDPOINT"]).scheme in ("http", "https")


def test_restore_may_write_media_owned_by_the_ims():
    for vm_name in ("ims", "ims-staging"):
        job = load_fleet().vms[vm_name].jobs["duplicity-restore"]
        assert job.cap_drop == ["all"]
        assert {"CHOWN", "DAC_OVERRIDE", "FOWNER"} <= {c.upper() for c in job.cap_add}
