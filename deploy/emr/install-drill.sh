#!/usr/bin/env bash
# reservoir query window: EMR bootstrap action that installs Apache Drill on every node.
#
# Drill is not an EMR application, so this script brings it: it downloads the release tarball
# (checked against a SHA-256 given by the caller, or the SHA-512 published next to it), unpacks
# it under /opt, points the drillbits at the cluster's ZooKeeper (an EMR application of the
# window's cluster) and installs the storage plugins reservoir generated for the window
# (storage-plugins-override.conf: the Hive metastore and the S3 archive). Bootstrap actions run
# before EMR installs its applications, so the drillbit is started in the background once
# ZooKeeper answers on the master node; the bootstrap action itself returns at once.
#
# Shipped with the prepareQueryWindow Lambda (bundled as text) and written to
# s3://{bucket}/{prefix}runs/query-window/{windowId}/bootstrap/install-drill.sh for each window.
#
# usage: install-drill.sh --version 1.21.2 --plugins s3://.../storage-plugins-override.conf
#                         --cluster-id reservoir-qw-1 [--sha256 HEX] [--mirror URL] [--home /opt]
set -euo pipefail

DRILL_VERSION=""
PLUGINS_URI=""
CLUSTER_ID=""
SHA256=""
MIRROR="https://archive.apache.org/dist/drill"
INSTALL_ROOT="/opt"
ZK_PORT=2181
START_TIMEOUT_SECONDS=3600
LOG_DIR="/var/log/drill"

usage() {
  echo "usage: $0 --version V --plugins s3://... --cluster-id ID [--sha256 HEX] [--mirror URL] [--home DIR]" >&2
  exit 2
}

while [ "$#" -gt 0 ]; do
  case "$1" in
    --version) DRILL_VERSION="${2:-}"; shift 2 ;;
    --plugins) PLUGINS_URI="${2:-}"; shift 2 ;;
    --cluster-id) CLUSTER_ID="${2:-}"; shift 2 ;;
    --sha256) SHA256="${2:-}"; shift 2 ;;
    --mirror) MIRROR="${2:-}"; shift 2 ;;
    --home) INSTALL_ROOT="${2:-}"; shift 2 ;;
    *) usage ;;
  esac
done

[[ "$DRILL_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || usage
[[ "$PLUGINS_URI" == s3://* ]] || usage
[[ "$CLUSTER_ID" =~ ^[A-Za-z0-9_-]+$ ]] || usage

log() {
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) install-drill: $*"
}

# The cluster's master node, from the instance metadata EMR writes before bootstrap actions run.
master_host() {
  python3 -c 'import json; print(json.load(open("/mnt/var/lib/info/job-flow.json"))["masterPrivateDnsName"])'
}

is_master() {
  python3 -c 'import json, sys; sys.exit(0 if json.load(open("/mnt/var/lib/info/instance.json")).get("isMaster") else 1)'
}

download() {
  local tarball="apache-drill-${DRILL_VERSION}.tar.gz"
  local work
  work="$(mktemp -d)"
  local base
  # The Apache dist layout changed between releases: drill/1.21.2/ and drill/drill-1.19.0/.
  for base in "${MIRROR}/${DRILL_VERSION}" "${MIRROR}/drill-${DRILL_VERSION}"; do
    if curl --fail --silent --show-error --location --retry 5 --max-time 900 \
      --output "${work}/${tarball}" "${base}/${tarball}"; then
      if [ -n "$SHA256" ]; then
        echo "${SHA256}  ${work}/${tarball}" | sha256sum --check --status || {
          log "SHA-256 of ${base}/${tarball} does not match ${SHA256}"
          exit 1
        }
      else
        curl --fail --silent --show-error --location --retry 5 --max-time 60 \
          --output "${work}/${tarball}.sha512" "${base}/${tarball}.sha512"
        local expected
        expected="$(awk '{print $1}' "${work}/${tarball}.sha512")"
        echo "${expected}  ${work}/${tarball}" | sha512sum --check --status || {
          log "SHA-512 of ${base}/${tarball} does not match the published one"
          exit 1
        }
      fi
      sudo tar -xzf "${work}/${tarball}" -C "$INSTALL_ROOT"
      rm -rf "$work"
      return 0
    fi
  done
  log "could not download ${tarball} from ${MIRROR}"
  exit 1
}

# Drill 1.21 runs on Java 8 to 17; prefer an installed Corretto 11 or 8 over a newer default.
java_home() {
  local candidate
  for candidate in /usr/lib/jvm/java-11-amazon-corretto* /usr/lib/jvm/java-1.8.0-amazon-corretto* /usr/lib/jvm/java-1.8.0; do
    if [ -x "${candidate}/bin/java" ]; then
      echo "$candidate"
      return 0
    fi
  done
  echo ""
}

configure() {
  local home="$1" master="$2"
  local user
  user="$(id -un)"
  sudo chown -R "${user}:" "$home"
  sudo mkdir -p "$LOG_DIR"
  sudo chown "${user}:" "$LOG_DIR"

  cat >"${home}/conf/drill-override.conf" <<CONF
drill.exec: {
  cluster-id: "${CLUSTER_ID}",
  zk.connect: "${master}:${ZK_PORT}",
  storage.action_on_plugins_override_file: "none"
}
CONF

  local java
  java="$(java_home)"
  {
    echo "export DRILL_LOG_DIR=\"${LOG_DIR}\""
    # Timestamps are UTC, as the archive's partitions are.
    echo "export DRILL_JAVA_OPTS=\"\${DRILL_JAVA_OPTS:-} -Duser.timezone=UTC\""
    if [ -n "$java" ]; then
      echo "export JAVA_HOME=\"${java}\""
    fi
  } >>"${home}/conf/drill-env.sh"

  aws s3 cp --only-show-errors "$PLUGINS_URI" "${home}/conf/storage-plugins-override.conf"
  sed -i "s/@MASTER_HOST@/${master}/g" "${home}/conf/storage-plugins-override.conf"
}

# Runs in the background after the bootstrap action returned: waits for ZooKeeper (installed
# by EMR after the bootstrap actions), then starts the drillbit.
start_when_ready() {
  local home="$1" master="$2"
  local waited=0
  until (exec 3<>"/dev/tcp/${master}/${ZK_PORT}") 2>/dev/null; do
    if [ "$waited" -ge "$START_TIMEOUT_SECONDS" ]; then
      log "ZooKeeper on ${master}:${ZK_PORT} did not answer within ${START_TIMEOUT_SECONDS} s"
      exit 1
    fi
    sleep 10
    waited=$((waited + 10))
  done
  # The Hive plugin reads tables with the JSON SerDe: give Drill the jar EMR's Hive uses.
  local jar
  for jar in /usr/lib/hive-hcatalog/share/hcatalog/hive-hcatalog-core*.jar; do
    if [ -f "$jar" ]; then
      cp "$jar" "${home}/jars/3rdparty/"
    fi
  done
  "${home}/bin/drillbit.sh" start
  log "drillbit started (cluster-id ${CLUSTER_ID}, ZooKeeper ${master}:${ZK_PORT})"
}

main() {
  local home="${INSTALL_ROOT}/apache-drill-${DRILL_VERSION}"
  local master
  master="$(master_host)"
  if is_master; then
    log "master node; ZooKeeper and the Hive metastore run here"
  fi
  log "installing Apache Drill ${DRILL_VERSION} into ${home}"
  download
  configure "$home" "$master"
  sudo ln -sfn "$home" "${INSTALL_ROOT}/drill"
  # Detached from the bootstrap action: EMR waits only for this script.
  nohup bash -c "$(declare -f log start_when_ready); CLUSTER_ID='${CLUSTER_ID}' ZK_PORT='${ZK_PORT}' \
    START_TIMEOUT_SECONDS='${START_TIMEOUT_SECONDS}' start_when_ready '${home}' '${master}'" \
    >>"${LOG_DIR}/reservoir-start.log" 2>&1 </dev/null &
  disown || true
  log "drillbit will start once ZooKeeper answers (log: ${LOG_DIR}/reservoir-start.log)"
}

main
