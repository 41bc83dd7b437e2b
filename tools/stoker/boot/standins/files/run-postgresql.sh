#!/bin/sh
# stoker stand-in for the fleet's postgres image: Debian's PostgreSQL with the
# contract of the centos/sclorg postgresql image (sclorg/postgresql-container,
# README and container-scripts/postgresql/common.sh):
# - runs as uid 26 (user postgres), HOME /var/lib/pgsql, the cluster in
#   PGDATA=/var/lib/pgsql/data/userdata (the volume is /var/lib/pgsql/data);
# - POSTGRESQL_USER, POSTGRESQL_PASSWORD, POSTGRESQL_DATABASE (all three)
#   make that user and its database on an empty data directory;
#   POSTGRESQL_ADMIN_PASSWORD, when set, is the password of role postgres;
#   passwords are set again at every start;
# - listens on port 5432 on every address, password logins from every host
#   (scram-sha-256; sclorg's images use md5), peer logins on the socket;
# - ENABLE_BACKUPS=true archives WAL with wal-push (S3, WALE_* variables).
# The variables' values never reach the command line or the log.
set -eu

stoker-standin --check run-postgresql

bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PATH="$bin:$PATH"
export PATH
PGDATA=/var/lib/pgsql/data/userdata
export PGDATA
export PGHOST=/run/postgresql

if ! mkdir -p "$PGDATA" 2>/dev/null || ! chmod 700 "$PGDATA" 2>/dev/null; then
    echo "postgres stand-in FAILED: cannot create $PGDATA as uid $(id -u); the data volume must be owned by uid 26" >&2
    exit 1
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    echo "postgres stand-in: empty data directory, running initdb"
    initdb --username=postgres --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=peer --auth-host=scram-sha-256 -D "$PGDATA"
    {
        echo ""
        echo "# stoker stand-in, as sclorg's image: password logins from every host"
        echo "host all all all scram-sha-256"
    } >>"$PGDATA/pg_hba.conf"
    echo "include 'stoker-standin.conf'" >>"$PGDATA/postgresql.conf"
fi

# settings written anew at every start (sclorg: openshift-custom-postgresql.conf)
{
    echo "# written by run-postgresql at every start"
    echo "listen_addresses = '*'"
    echo "port = 5432"
    echo "unix_socket_directories = '/run/postgresql'"
    echo "max_connections = ${POSTGRESQL_MAX_CONNECTIONS:-100}"
    echo "shared_buffers = ${POSTGRESQL_SHARED_BUFFERS:-32MB}"
    echo "password_encryption = scram-sha-256"
    if [ "${ENABLE_BACKUPS:-false}" = true ]; then
        echo "archive_mode = on"
        echo "archive_command = 'wal-push %p'"
    fi
} >"$PGDATA/stoker-standin.conf"

# a private start (socket only, no WAL archiving) for the roles and the database
pg_ctl -w -D "$PGDATA" -o "-c listen_addresses='' -c archive_mode=off" start
# psql's \getenv reads the passwords from the environment: never on a command line
psql -X -q -v ON_ERROR_STOP=1 --username=postgres --dbname=postgres <<'SQL'
\getenv user POSTGRESQL_USER
\getenv password POSTGRESQL_PASSWORD
\getenv database POSTGRESQL_DATABASE
\getenv admin_password POSTGRESQL_ADMIN_PASSWORD
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'user') AS make_user \gset
\if :make_user
CREATE ROLE :"user" LOGIN;
\endif
ALTER ROLE :"user" WITH LOGIN PASSWORD :'password';
SELECT NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'database') AS make_database \gset
\if :make_database
CREATE DATABASE :"database" OWNER :"user";
\endif
\if :{?admin_password}
SELECT length(:'admin_password') > 0 AS set_admin \gset
\else
\set set_admin false
\endif
\if :set_admin
ALTER ROLE postgres WITH PASSWORD :'admin_password';
\endif
SQL
pg_ctl -w -D "$PGDATA" -m fast stop

unset POSTGRESQL_USER POSTGRESQL_PASSWORD POSTGRESQL_DATABASE POSTGRESQL_ADMIN_PASSWORD
echo "postgres stand-in: starting PostgreSQL on port 5432"
exec postgres -D "$PGDATA"
