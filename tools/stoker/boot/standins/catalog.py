"""The stand-in for every image the fleet pulls from its registry, declared as data.

Each declaration says which image it stands in for and where its contract
comes from; the tests check every contract against vms/*.yaml (uids of the
data directories, ports, commands, environment and secrets). Images Debian
ships run the real program (nginx, PostgreSQL, certbot, duplicity); the others
run the generic stand-in program (program.py) configured by their contract.
"""

from __future__ import annotations

from .model import (PROGRAM_LINK, PROGRAM_PATH, Account, Base, Contract, Dir, File, Link, Mode, Need, Produce,
                    S3, StandIn)

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# dpkg's own example (dpkg(1), mmdebstrap(1)): no manuals, info pages or translations;
# documentation only the copyright files.
DOC_FILTER = (
    ("exclude", "/usr/share/man/*"),
    ("exclude", "/usr/share/info/*"),
    ("exclude", "/usr/share/locale/*"),
    ("include", "/usr/share/locale/locale.alias"),
    ("exclude", "/usr/share/doc/*"),
    ("include", "/usr/share/doc/*/copyright"),
    ("exclude", "/usr/share/lintian/*"),
)

BASE = Base(
    suite="trixie",
    # Essential:yes packages only: no apt (images are never apt-get'ed), no init
    variant="essential",
    # the stand-in program needs python3's standard library (http.server, hmac, xml);
    # ca-certificates: every image that speaks TLS (S3, ACME, the IMS) verifies with it
    packages=("python3", "ca-certificates"),
    path_filter=DOC_FILTER,
    drop=(
        "/dev/*",                                   # the container runtime makes /dev
        "/etc/resolv.conf", "/etc/hostname",        # copied from the build host; the runtime mounts its own
        "/var/lib/dpkg/*-old", "/var/cache/debconf/*-old",  # dpkg's and debconf's backup copies
        "/var/cache/ldconfig/aux-cache",
    ),
    files=(File(PROGRAM_PATH, source="program.py", mode=0o755),),
    links=(Link(PROGRAM_LINK, "../lib/stoker-standin/standin.py"),),
)


def _commands(*names: str) -> tuple[Link, ...]:
    """Each command a link to the stand-in program, which runs the mode of that name."""
    return tuple(Link(f"/usr/local/bin/{n}", "stoker-standin") for n in names)


# -- real programs from Debian ----------------------------------------------------------------------

NGINX_USER = Account("nginx", 101, 101, home="/nonexistent", gecos="nginx user")
NGINX_COMMON = dict(
    packages=("nginx",),
    accounts=(NGINX_USER,),
    dirs=(Dir("/etc/nginx/conf.d"), Dir("/var/cache/nginx"), Dir("/var/log/nginx")),
    links=(Link("/var/log/nginx/access.log", "/dev/stdout"), Link("/var/log/nginx/error.log", "/dev/stderr")),
    # Debian's own site and page; the official image has neither
    remove=("/etc/nginx/sites-available*", "/etc/nginx/sites-enabled*", "/var/www/html*",
            "/etc/nginx/modules-available*", "/etc/nginx/modules-enabled*"),
    cmd=("nginx", "-g", "daemon off;"),
    stop_signal="SIGQUIT",
)
NGINX_FACTS = ("the official nginx image (its Dockerfile and nginx.conf): master as root, workers as "
               "nginx 101:101, `nginx -g 'daemon off;'`, STOPSIGNAL SIGQUIT, /etc/nginx/conf.d/*.conf, "
               "temporary files in /var/cache/nginx, logs linked to /dev/stdout and /dev/stderr")

NGINX = StandIn(
    image="nginx:latest",
    stands_for="registry.ebisc.org/ebisc/nginx (a mirror of the official nginx image): " + NGINX_FACTS,
    files=(File("/etc/nginx/nginx.conf", source="files/nginx.conf"),),
    contract=Contract(uid=0, user="root", default="nginx", modes=(
        Mode("nginx", "program", "servers from /etc/nginx/conf.d (the bastion mounts the fleet's there)"),)),
    **NGINX_COMMON,
)

IMS_NGINX = StandIn(
    image="ims-nginx:latest",
    stands_for="registry.ebisc.org/ebisc/ims-nginx (built by the IMS's CI from the official nginx image "
               "with its own server): " + NGINX_FACTS,
    files=(File("/etc/nginx/nginx.conf", source="files/nginx.conf"),
           File("/etc/nginx/conf.d/ims.conf", source="files/ims-nginx.conf")),
    contract=Contract(uid=0, user="root", default="nginx", modes=(
        Mode("nginx", "program", "the IMS front: /static/ and /media/ from /var/www/ims, the rest to "
             "ims-uwsgi:9191", ports=(8080,), needs=(Need("ims-uwsgi", 9191),)),)),
    **{**NGINX_COMMON, "dirs": NGINX_COMMON["dirs"] + (Dir("/var/www/ims"), Dir("/var/www/ims/static"),
                                                       Dir("/var/www/ims/media"))},
)

WALE_ENV = ("WALE_S3_PREFIX", "WALE_S3_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
POSTGRES = StandIn(
    image="postgres:latest",
    stands_for="registry.ebisc.org/ebisc/postgres (the centos/sclorg postgresql image with WAL-E): "
               "sclorg/postgresql-container README and container-scripts/postgresql/common.sh",
    packages=("postgresql",),
    # the JIT provider (LLVM, 150 MB): PostgreSQL runs without it, as sclorg's images do
    # (RHEL ships it in the separate postgresql-llvmjit package, which they do not install)
    dpkg_exclude=("/usr/lib/*/libLLVM*", "/usr/lib/*/libz3*", "/usr/lib/postgresql/*/lib/llvmjit*",
                  "/usr/lib/postgresql/*/lib/bitcode*"),
    # uid 26 as in sclorg's image; gid 26 is Debian's "tape" and postgresql-common refuses the
    # root group, so group postgres gets 999 (the fleet's data directory fixes only the owner, 26)
    accounts=(Account("postgres", 26, 999, home="/var/lib/pgsql", shell="/bin/bash", gecos="PostgreSQL Server"),),
    files=(File("/usr/local/bin/run-postgresql", source="files/run-postgresql.sh", mode=0o755),
           File("/usr/local/bin/run-backup-push", source="files/postgres-backup.py", mode=0o755)),
    links=(Link("/usr/local/bin/run-backup-fetch", "run-backup-push"),
           Link("/usr/local/bin/wal-push", "run-backup-push")),
    dirs=(Dir("/var/lib/pgsql", 0o700, 26, 999), Dir("/var/lib/pgsql/data", 0o700, 26, 999),
          Dir("/run/postgresql", 0o2775, 26, 999)),
    # the cluster Debian's package makes at install time (run-postgresql makes its own), and the
    # "snakeoil" key pair package ssl-cert makes for it: no private key baked into an image
    # locale sources (only locale-gen reads them; initdb uses glibc's built-in C.UTF-8): 15 MB
    remove=("/var/lib/postgresql/*", "/etc/postgresql/*", "/etc/ssl/private/ssl-cert-snakeoil.key",
            "/etc/ssl/certs/ssl-cert-snakeoil.pem", "/usr/share/i18n/locales/*", "/usr/share/i18n/charmaps/*"),
    cmd=("run-postgresql",),
    env=(("HOME", "/var/lib/pgsql"), ("PGUSER", "postgres"), ("LANG", "C.UTF-8")),
    user="26",
    workdir="/var/lib/pgsql",
    stop_signal="SIGINT",  # PostgreSQL's "fast shutdown"
    commands=("run-backup-push", "run-backup-fetch", "wal-push"),
    contract=Contract(uid=26, user="postgres", default="run-postgresql", modes=(
        Mode("run-postgresql", "program", "initdb on an empty data directory, the user and database, "
             "then PostgreSQL on port 5432",
             env_required=("POSTGRESQL_USER", "POSTGRESQL_PASSWORD", "POSTGRESQL_DATABASE"),
             env_optional=("POSTGRESQL_ADMIN_PASSWORD", "POSTGRESQL_MAX_CONNECTIONS", "POSTGRESQL_SHARED_BUFFERS",
                           "ENABLE_BACKUPS") + WALE_ENV,
             ports=(5432,), writes=("/var/lib/pgsql/data",)),
        Mode("run-backup-push", "program", "a base backup of the data directory to S3", env_required=WALE_ENV),
        Mode("run-backup-fetch", "program", "the newest base backup from S3 into an empty data directory",
             env_required=WALE_ENV, writes=("/var/lib/pgsql/data",)),
        Mode("wal-push", "program", "one WAL segment to S3 (archive_command when ENABLE_BACKUPS=true)",
             env_required=WALE_ENV),
    )),
)

LETSENCRYPT = StandIn(
    image="letsencrypt:latest",
    stands_for="registry.ebisc.org/ebisc/letsencrypt (certbot renewing through a web root): certbot(1), "
               "`certbot renew` exits 0 when there is nothing to renew",
    packages=("certbot",),
    dirs=(Dir("/etc/letsencrypt"), Dir("/var/www/acme")),
    cmd=("certbot", "renew", "--non-interactive", "--webroot", "--webroot-path", "/var/www/acme"),
    contract=Contract(uid=0, user="root", default="certbot-renew", modes=(
        Mode("certbot-renew", "program", "renew every certificate of /etc/letsencrypt through the ACME web "
             "root /var/www/acme", writes=("/etc/letsencrypt", "/var/www/acme")),)),
)

DUPLICITY_ENV = ("BACKUP_TARGET", "PASSPHRASE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
DUPLICITY = StandIn(
    image="duplicity:latest",
    stands_for="registry.ebisc.org/ebisc/duplicity (duplicity backing up /data/media to S3): duplicity(1); "
               "S3 through boto3",
    packages=("duplicity", "python3-boto3"),
    files=(File("/usr/local/bin/run-duplicity-backup", source="files/duplicity.sh", mode=0o755),),
    links=(Link("/usr/local/bin/run-duplicity-restore", "run-duplicity-backup"),),
    dirs=(Dir("/data"), Dir("/data/media")),
    cmd=("run-duplicity-backup",),
    commands=("run-duplicity-restore",),
    contract=Contract(uid=0, user="root", default="run-duplicity-backup", modes=(
        Mode("run-duplicity-backup", "program", "back up /data/media to BACKUP_TARGET",
             env_required=DUPLICITY_ENV, env_optional=("FULL_IF_OLDER_THAN", "REMOVE_OLDER_THAN", "S3_ENDPOINT")),
        Mode("run-duplicity-restore", "program", "restore BACKUP_TARGET's latest backup into /data/media",
             env_required=DUPLICITY_ENV, env_optional=("S3_ENDPOINT",), writes=("/data/media",)),
    )),
)

# -- the generic stand-in program -----------------------------------------------------------------

ELASTICSEARCH = StandIn(
    image="elasticsearch:1.6.2",
    stands_for="registry.ebisc.org/ebisc/elasticsearch:1.6.2 (a mirror of the official elasticsearch "
               "1.6.2 image): HTTP on 9200, transport on 9300, data in /usr/share/elasticsearch/data; "
               "the fleet runs it as user elasticsearch, whose uid owns the data directory (105, vms/ims.yaml)",
    accounts=(Account("elasticsearch", 105, 105, home="/usr/share/elasticsearch"),),
    dirs=(Dir("/usr/share/elasticsearch"), Dir("/usr/share/elasticsearch/data", 0o755, 105, 105)),
    links=_commands("elasticsearch"),
    cmd=("elasticsearch",),
    user="elasticsearch",
    workdir="/usr/share/elasticsearch",
    contract=Contract(uid=105, user="elasticsearch", default="elasticsearch", modes=(
        Mode("elasticsearch", "serve", "the search index", ports=(9200, 9300),
             writes=("/usr/share/elasticsearch/data",)),)),
)

IMS_ENV = ("DB_USER", "DB_HOST", "DB_PASS", "ES_HOST", "SECRET_KEY")
IMS_OPTIONAL = ("SENDGRID_API_KEY", "BIOSAMPLES_KEY")
IMS_UWSGI = StandIn(
    image="ims-uwsgi:latest",
    stands_for="registry.ebisc.org/ebisc/ims-uwsgi (the IMS Django application under uWSGI, built by its "
               "CI): uid 1001 owns media and static (vms/ims.yaml), port 9191, PostgreSQL at $DB_HOST:5432, "
               "Elasticsearch at $ES_HOST:9200",
    accounts=(Account("ims", 1001, 1001, home="/var/www/ims"),),
    dirs=(Dir("/var/www/ims"), Dir("/var/www/ims/media", 0o755, 1001, 1001),
          Dir("/var/www/ims/static", 0o755, 1001, 1001)),
    links=_commands("uwsgi", "run-deploy", "run-ims-update"),
    cmd=("uwsgi",),
    user="1001",
    workdir="/var/www/ims",
    commands=("run-deploy", "run-ims-update"),
    contract=Contract(uid=1001, user="ims", default="uwsgi", modes=(
        Mode("uwsgi", "serve", "the application on port 9191 (HTTP here; the real one speaks uwsgi)",
             env_required=IMS_ENV, env_optional=IMS_OPTIONAL, ports=(9191,), writes=("/var/www/ims/media",),
             needs=(Need("$DB_HOST", 5432),)),
        Mode("run-deploy", "job", "wait for PostgreSQL, migrate, collect the static files, re-index",
             env_required=IMS_ENV, env_optional=IMS_OPTIONAL, writes=("/var/www/ims/static",),
             needs=(Need("$DB_HOST", 5432), Need("$ES_HOST", 9200)),
             wait_seconds=600,  # on the first boot PostgreSQL runs initdb first
             produce=(Produce("/var/www/ims/static/stoker-standin/ims.css",
                              "/* collected by the ims-uwsgi stand-in's run-deploy */\nbody { margin: 0; }\n"),)),
        Mode("run-ims-update", "job", "the nightly import into PostgreSQL and the index",
             env_required=IMS_ENV, env_optional=IMS_OPTIONAL, writes=("/var/www/ims/media",),
             needs=(Need("$DB_HOST", 5432), Need("$ES_HOST", 9200))),
    )),
)

MONGODB = StandIn(
    image="centos/mongodb-32-centos7:latest",
    stands_for="registry.ebisc.org/ebisc/centos/mongodb-32-centos7 (a mirror of the centos/sclorg "
               "mongodb-32-centos7 image): sclorg/mongodb-container README: USER 184, port 27017, data in "
               "/var/lib/mongodb/data, MONGODB_USER, MONGODB_PASSWORD, MONGODB_DATABASE, MONGODB_ADMIN_PASSWORD",
    accounts=(Account("mongodb", 184, 0, home="/var/lib/mongodb", gecos="MongoDB"),),
    dirs=(Dir("/var/lib/mongodb", 0o755, 184, 0), Dir("/var/lib/mongodb/data", 0o700, 184, 0)),
    links=_commands("run-mongod"),
    cmd=("run-mongod",),
    user="184",
    workdir="/var/lib/mongodb",
    contract=Contract(uid=184, user="mongodb", default="run-mongod", modes=(
        Mode("run-mongod", "serve", "MongoDB on port 27017",
             env_required=("MONGODB_USER", "MONGODB_PASSWORD", "MONGODB_DATABASE", "MONGODB_ADMIN_PASSWORD"),
             ports=(27017,), writes=("/var/lib/mongodb/data",)),)),
)

TRACKER_WEBSERVER = StandIn(
    image="tracker-webserver:latest",
    stands_for="registry.ebisc.org/ebisc/tracker-webserver (the tracker's Go web UI, built by its CI): "
               "port 8000, MongoDB at $MONGODB_HOST:27017; the fleet states no user id",
    links=_commands("tracker-webserver"),
    cmd=("tracker-webserver",),
    contract=Contract(uid=None, user=None, default="tracker-webserver", modes=(
        Mode("tracker-webserver", "serve", "the read-only web UI on port 8000",
             env_required=("MONGODB_HOST", "MONGODB_USER", "MONGODB_PASS"), ports=(8000,),
             needs=(Need("$MONGODB_HOST", 27017),)),)),
)

TRACKER = StandIn(
    image="tracker:latest",
    stands_for="registry.ebisc.org/ebisc/tracker (the tracker's Perl analyser, built by its CI): a job "
               "that loads its findings into MongoDB at $MONGODB_HOST:27017; the fleet states no user id",
    links=_commands("tracker"),
    cmd=("tracker",),
    contract=Contract(uid=None, user=None, default="tracker", modes=(
        Mode("tracker", "job", "analyse the IMS, hPSCreg and others, load the findings into MongoDB",
             env_required=("MONGODB_HOST", "MONGODB_USER", "MONGODB_PASS", "IMS_URL", "IMS_PASS", "HPSCREG_PASS"),
             needs=(Need("$MONGODB_HOST", 27017),)),)),
)

MONGO_BACKUP_ENV = ("MONGODB_HOST", "MONGODB_ADMIN_PASSWORD", "S3_PREFIX", "S3_ENDPOINT",
                    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
MONGODB_BACKUPS = StandIn(
    image="mongodb-backups-s3:latest",
    stands_for="registry.ebisc.org/ebisc/mongodb-backups-s3 (mongodump to S3 and back, built by CI): "
               "MongoDB at $MONGODB_HOST:27017, S3 at $S3_ENDPOINT under $S3_PREFIX; the fleet states no user id",
    links=_commands("mongodb-backup-s3", "run-mongodb-restore-s3"),
    cmd=("mongodb-backup-s3",),
    commands=("run-mongodb-restore-s3",),
    contract=Contract(uid=None, user=None, default="mongodb-backup-s3", modes=(
        Mode("mongodb-backup-s3", "job", "dump the database and store it under S3_PREFIX",
             env_required=MONGO_BACKUP_ENV, needs=(Need("$MONGODB_HOST", 27017),),
             s3=S3("S3_ENDPOINT", "S3_PREFIX", "put")),
        Mode("run-mongodb-restore-s3", "job", "fetch the newest dump under S3_PREFIX and restore it",
             env_required=MONGO_BACKUP_ENV, needs=(Need("$MONGODB_HOST", 27017),),
             s3=S3("S3_ENDPOINT", "S3_PREFIX", "get")),
    )),
)

STANDINS: tuple[StandIn, ...] = (NGINX, IMS_NGINX, POSTGRES, LETSENCRYPT, DUPLICITY, ELASTICSEARCH, IMS_UWSGI,
                                  MONGODB, TRACKER_WEBSERVER, TRACKER, MONGODB_BACKUPS)


# -- not a fleet image: the boot test's own probe ------------------------------------------------

# The throwaway container the boot test's container probes (stoker.boot.probes) start inside a
# guest's container networks: the shared base (python3) and files/probe.py. Not in STANDINS, so no
# fleet contract test looks for it; the harness pushes it next to the stand-ins as
# <fleet registry>/stoker-probe:latest, so the guest pulls it through the same mirror drop-in.
PROBE = StandIn(
    image="stoker-probe:latest",
    stands_for="no fleet image: the boot test's probe container (stoker-probe connect|read|env)",
    files=(File("/usr/local/bin/stoker-probe", source="files/probe.py", mode=0o755),),
    cmd=("sleep", "infinity"),
    contract=Contract(uid=None, user=None, default="stoker-probe", modes=(
        Mode("stoker-probe", "program", "idle until the harness runs stoker-probe in it"),)),
)


def by_image() -> dict[str, StandIn]:
    """image name:tag (relative to the fleet registry) -> its stand-in."""
    return {s.image: s for s in STANDINS}


def image_env(s: StandIn) -> tuple[tuple[str, str], ...]:
    """The image config's Env: PATH first, then the declaration's (a PATH there wins)."""
    env = dict((("PATH", PATH),) + s.env)
    return tuple(env.items())
