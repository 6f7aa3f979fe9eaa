#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests (Debian's `postgresql` package, installed with
# apt-get where missing), on a free loopback port, its data and unix socket in a temporary
# directory of its own.
#
#   scripts/postgres.sh start ENV_FILE   initdb into a new temporary directory, start the server
#                                        listening on 127.0.0.1 only, create a user and a database
#                                        it owns, wait until it answers, and write ENV_FILE
#   scripts/postgres.sh stop DIR         stop the server of DIR (fast shutdown) and remove DIR
#
# ENV_FILE is a file of exports:
#   SLUICE_TEST_POSTGRES   postgres://USER:PASSWORD@127.0.0.1:PORT/DB; the user may create
#                          databases (the tests make a fresh one each)
#   SLUICE_POSTGRES_DIR    the temporary directory, for `stop`
#
# As root, initdb and the server run as the `postgres` user (PostgreSQL refuses to run as root).
set -euo pipefail

USER_NAME="sluice"
DB_NAME="sluice"

as_root_or_sudo() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# The newest installed server's bin directory.
pg_bindir() {
    local d
    d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -n "$d" ] && [ -x "$d/initdb" ]; then
        echo "$d"
    elif command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
    fi
}

install_postgres() {
    [ -n "$(pg_bindir)" ] && return 0
    echo "postgres: installing Debian's postgresql package" >&2
    # The package would otherwise make and start a cluster of its own on port 5432. A file of
    # createcluster.d (read by createcluster.conf, not a conffile) says not to.
    as_root_or_sudo mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" |
        as_root_or_sudo tee /etc/postgresql-common/createcluster.d/sluice-tests.conf >/dev/null
    as_root_or_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    as_root_or_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold postgresql >/dev/null
    [ -n "$(pg_bindir)" ] || { echo "postgres: no initdb after installing postgresql" >&2; exit 1; }
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Runs a server program as the user owning the data (postgres when we are root).
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start() {
    local env_file=$1
    install_postgres
    local bin dir port password
    bin="$(pg_bindir)"
    if [ "$(id -u)" -eq 0 ]; then
        # In /tmp whatever TMPDIR says: the postgres user must reach it, and the unix socket's
        # path must stay short.
        dir="$(mktemp -d /tmp/sluice-postgres.XXXXXX)"
        chown postgres: "$dir"
    else
        dir="$(mktemp -d "${TMPDIR:-/tmp}/sluice-postgres.XXXXXX")"
    fi
    chmod 0700 "$dir"
    password="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
        echo "postgres: initdb failed:" >&2
        cat "$dir/initdb.log" >&2
        exit 1
    }
    # A port found free may be taken before the server binds it: try a few.
    local started=""
    for _ in 1 2 3 4 5; do
        port="$(free_port)"
        if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null 2>&1; then
            started=1
            break
        fi
    done
    [ -n "$started" ] || {
        echo "postgres: the server did not start; its log:" >&2
        cat "$dir/server.log" >&2
        exit 1
    }
    # Over the unix socket in $dir, where the postgres superuser is trusted.
    if ! as_owner "$bin/psql" -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres >/dev/null <<SQL
CREATE ROLE $USER_NAME LOGIN CREATEDB PASSWORD '$password';
CREATE DATABASE $DB_NAME OWNER $USER_NAME;
SQL
    then
        echo "postgres: cannot create the user and the database" >&2
        stop "$dir"
        exit 1
    fi
    cat >"$env_file" <<EOF
export SLUICE_TEST_POSTGRES="postgres://$USER_NAME:$password@127.0.0.1:$port/$DB_NAME"
export SLUICE_POSTGRES_DIR="$dir"
EOF
}

stop() {
    local dir=$1
    local bin
    bin="$(pg_bindir)"
    if [ -f "$dir/data/postmaster.pid" ] && [ -n "$bin" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
    start) start "${2:?an env file to write}" ;;
    stop) stop "${2:?the directory of the server}" ;;
    *)
        echo "usage: $0 start ENV_FILE | stop DIR" >&2
        exit 2
        ;;
esac
