#!/usr/bin/env bash
# Apache Kafka's own broker (4.x, KRaft mode: no ZooKeeper) for the tests, fetched from Maven
# Central and started on free loopback ports.
#
#   scripts/apache-kafka.sh jars         fetch the broker's jars (once; cached outside the clone)
#                                        and print their directory
#   scripts/apache-kafka.sh start DIR    start one broker keeping its data, config, certificates
#                                        and log in DIR; returns once it serves requests. Started
#                                        again on the same DIR (after a kill), it reuses its ports,
#                                        its data and its users.
#   scripts/apache-kafka.sh describe-group HOST:PORT GROUP
#                                        Kafka's own kafka-consumer-groups --describe: the group's
#                                        committed offsets and lag by partition
#
# `start` writes DIR/broker.pid and DIR/env, a file of exports:
#   SLUICE_TEST_KAFKA            PLAINTEXT host:port
#   SLUICE_TEST_KAFKA_SASL       SASL_PLAINTEXT host:port (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512)
#   SLUICE_TEST_KAFKA_SASL_SSL   SASL_SSL host:port (the same mechanisms, over TLS)
#   SLUICE_TEST_KAFKA_SSL        SSL host:port
#   SLUICE_TEST_KAFKA_USER       the user every SASL mechanism knows
#   SLUICE_TEST_KAFKA_PASSWORD   its password
#   SLUICE_TEST_KAFKA_CA         PEM file of the CA that signed the broker's certificate (made here)
#   SLUICE_KAFKA_BROKER_PID      the broker's process id
#
# Needs Java 17+ and Maven (installed from Debian packages where missing).
set -euo pipefail

KAFKA_VERSION="4.1.1"
SLF4J_VERSION="2.0.17"
CACHE="${SLUICE_KAFKA_CACHE:-$HOME/.cache/sluice/apache-kafka-$KAFKA_VERSION}"
LIBS="$CACHE/libs"
USER_NAME="sluice"
PASSWORD="sluice-test-secret"

install_java_and_maven() {
    local missing=()
    command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
    command -v mvn >/dev/null 2>&1 || missing+=(maven)
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "apache-kafka: installing ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -q >/dev/null
    $sudo apt-get install -y -q "${missing[@]}" >/dev/null
}

fetch_jars() {
    # Written last: a cache with it holds every jar below.
    local complete="$LIBS/.complete-2"
    [ -f "$complete" ] && return 0
    install_java_and_maven
    local build
    build="$(mktemp -d)"
    # The broker, its storage tool, Kafka's command-line tools, and a logger that writes to stderr.
    cat >"$build/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.sluice.test</groupId>
  <artifactId>apache-kafka-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>$SLF4J_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>$SLF4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
    (cd "$build" && mvn -q -B -Dstyle.color=never dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$build/libs" >&2)
    mkdir -p "$CACHE"
    rm -rf "$LIBS"
    mv "$build/libs" "$LIBS"
    rm -rf "$build"
    touch "$complete"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

java_args() {
    JAVA_ARGS=(java -Xms128m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true
        -Dorg.slf4j.simpleLogger.defaultLogLevel=warn
        -Dorg.slf4j.simpleLogger.log.kafka.server.KafkaRaftServer=info
        -Dorg.slf4j.simpleLogger.showDateTime=true
        -cp "$LIBS/*")
}

java_run() {
    java_args
    "${JAVA_ARGS[@]}" "$@"
}

# A CA, and a broker certificate for 127.0.0.1 and localhost signed by it, in a PKCS12 keystore.
make_certificates() {
    local dir=$1
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Sluice test CA" \
        -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout "$dir/broker.key" -out "$dir/broker.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$dir/san.ext"
    openssl x509 -req -in "$dir/broker.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
        -days 3650 -extfile "$dir/san.ext" -out "$dir/broker.pem" 2>/dev/null
    openssl pkcs12 -export -in "$dir/broker.pem" -inkey "$dir/broker.key" -certfile "$dir/ca.pem" \
        -name broker -passout "pass:$PASSWORD" -out "$dir/broker.p12"
}

write_config() {
    local dir=$1
    local plain sasl sasl_ssl ssl controller
    plain="$(free_port)"
    sasl="$(free_port)"
    sasl_ssl="$(free_port)"
    ssl="$(free_port)"
    controller="$(free_port)"
    local jaas_scram="org.apache.kafka.common.security.scram.ScramLoginModule required;"
    local jaas_plain="org.apache.kafka.common.security.plain.PlainLoginModule required user_$USER_NAME=\"$PASSWORD\";"
    {
        echo "process.roles=broker,controller"
        echo "node.id=1"
        echo "controller.quorum.voters=1@127.0.0.1:$controller"
        echo "controller.listener.names=CONTROLLER"
        echo "listeners=PLAINTEXT://127.0.0.1:$plain,SASL_PLAINTEXT://127.0.0.1:$sasl,SASL_SSL://127.0.0.1:$sasl_ssl,SSL://127.0.0.1:$ssl,CONTROLLER://127.0.0.1:$controller"
        echo "advertised.listeners=PLAINTEXT://127.0.0.1:$plain,SASL_PLAINTEXT://127.0.0.1:$sasl,SASL_SSL://127.0.0.1:$sasl_ssl,SSL://127.0.0.1:$ssl"
        echo "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL,CONTROLLER:PLAINTEXT"
        echo "inter.broker.listener.name=PLAINTEXT"
        echo "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512"
        for listener in sasl_plaintext sasl_ssl; do
            echo "listener.name.$listener.plain.sasl.jaas.config=$jaas_plain"
            echo "listener.name.$listener.scram-sha-256.sasl.jaas.config=$jaas_scram"
            echo "listener.name.$listener.scram-sha-512.sasl.jaas.config=$jaas_scram"
        done
        echo "ssl.keystore.type=PKCS12"
        echo "ssl.keystore.location=$dir/broker.p12"
        echo "ssl.keystore.password=$PASSWORD"
        echo "ssl.key.password=$PASSWORD"
        echo "ssl.client.auth=none"
        echo "log.dirs=$dir/data"
        echo "num.partitions=1"
        echo "auto.create.topics.enable=true"
        echo "offsets.topic.replication.factor=1"
        echo "offsets.topic.num.partitions=4"
        echo "transaction.state.log.replication.factor=1"
        echo "transaction.state.log.min.isr=1"
        echo "transaction.state.log.num.partitions=4"
        echo "share.coordinator.state.topic.replication.factor=1"
        echo "share.coordinator.state.topic.min.isr=1"
        echo "group.initial.rebalance.delay.ms=0"
        # Tests write little: small segments, quick to start.
        echo "log.segment.bytes=16777216"
        echo "num.network.threads=2"
        echo "num.io.threads=4"
    } >"$dir/server.properties"
    {
        echo "export SLUICE_TEST_KAFKA=127.0.0.1:$plain"
        echo "export SLUICE_TEST_KAFKA_SASL=127.0.0.1:$sasl"
        echo "export SLUICE_TEST_KAFKA_SASL_SSL=127.0.0.1:$sasl_ssl"
        echo "export SLUICE_TEST_KAFKA_SSL=127.0.0.1:$ssl"
        echo "export SLUICE_TEST_KAFKA_USER=$USER_NAME"
        echo "export SLUICE_TEST_KAFKA_PASSWORD=$PASSWORD"
        echo "export SLUICE_TEST_KAFKA_CA=$dir/ca.pem"
    } >"$dir/listeners.env"
}

format_storage() {
    local dir=$1
    local cluster_id
    cluster_id="$(java_run kafka.tools.StorageTool random-uuid)"
    java_run kafka.tools.StorageTool format --ignore-formatted -t "$cluster_id" -c "$dir/server.properties" \
        --add-scram "SCRAM-SHA-256=[name=$USER_NAME,password=$PASSWORD]" \
        --add-scram "SCRAM-SHA-512=[name=$USER_NAME,password=$PASSWORD]" >"$dir/format.log" 2>&1 || {
        cat "$dir/format.log" >&2
        return 1
    }
}

start() {
    local dir
    dir="$(mkdir -p "$1" && cd "$1" && pwd)"
    fetch_jars
    if [ ! -f "$dir/server.properties" ]; then
        make_certificates "$dir"
        write_config "$dir"
        format_storage "$dir"
    fi
    local log="$dir/broker.log"
    local started_before=0
    [ -f "$log" ] && started_before="$(grep -c 'Kafka Server started' "$log" || true)"
    # A simple command in the background: its pid is the JVM's own, for whoever kills it.
    java_args
    "${JAVA_ARGS[@]}" kafka.Kafka "$dir/server.properties" >>"$log" 2>&1 &
    local pid=$!
    echo "$pid" >"$dir/broker.pid"
    # Ready when the server says so (all listeners bound and the metadata caught up).
    for _ in $(seq 1 600); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "apache-kafka: the broker exited before it was ready; its log:" >&2
            tail -50 "$log" >&2
            return 1
        fi
        if [ "$(grep -c 'Kafka Server started' "$log" || true)" -gt "$started_before" ]; then
            { cat "$dir/listeners.env"; echo "export SLUICE_KAFKA_BROKER_PID=$pid"; } >"$dir/env"
            return 0
        fi
        sleep 0.1
    done
    echo "apache-kafka: the broker was not ready within 60 s; its log:" >&2
    tail -50 "$log" >&2
    kill "$pid" 2>/dev/null || true
    return 1
}

describe_group() {
    fetch_jars
    java_run org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \
        --bootstrap-server "$1" --describe --group "$2"
}

case "${1:-}" in
    jars) fetch_jars && echo "$LIBS" ;;
    describe-group) [ $# -eq 3 ] || { echo "usage: $0 describe-group HOST:PORT GROUP" >&2; exit 2; }; describe_group "$2" "$3" ;;
    start) [ $# -eq 2 ] || { echo "usage: $0 start DIR" >&2; exit 2; }; start "$2" ;;
    *) echo "usage: $0 jars | start DIR | describe-group HOST:PORT GROUP" >&2; exit 2 ;;
esac
