#!/usr/bin/env bash
# CipherChat relay benchmark: CipherChat beside ngircd, InspIRCd and nats-server, one generator, one run.
#
#   bench/run.sh quick   one short fan-out step (1x100, 2,000 msg/s offered, 5 s) against a CipherChat
#                        server started here (Release build, temporary data folder, TLS on); prints, last,
#                        one JSON line with offered_per_s, delivered_per_s, p50_ms, p99_ms.
#   bench/run.sh cli     wall and CPU time of one-shot `cipherchat keygen`, `send` and `read` with nothing
#                        new, run from the published executable (`dotnet publish src/CipherChat.Cli -c Release`,
#                        what a user installs), against a local TLS server; hyperfine, CLI_RUNS (30) timed
#                        runs after 3 warm-ups, medians; results in bench/results/<time>-cli/ (JSON, markdown,
#                        summary.md). CLI_PUBLISH_ARGS adds publish options (e.g. -p:PublishAot=false);
#                        SKIP_BUILD=1 CLI_BIN=PATH measures that executable instead (e.g. the JIT build).
#   bench/run.sh cluster 1, 2 and 3 `cipherchat server` nodes (TLS off) sharing one PostgreSQL and one
#                        Redis given by CIPHERCHAT_TEST_POSTGRES and CIPHERCHAT_TEST_REDIS (see .ci/services.sh);
#                        fan-out 1x100 and 50x20 with members spread over the nodes round-robin, so most
#                        deliveries cross Redis. NODES ("1 2 3"), NODE_CPUS (taskset list for the nodes, "0");
#                        results in bench/results/<time>-cluster/.
#   bench/run.sh [full]  every scenario against every server, RUNS times each (default 3), then the
#                        medians side by side. Results: bench/results/<time>/ (results.jsonl, summary.md).
#
# Each server runs pinned to CPU 0 and the generator to CPU 1 (taskset); everything is on loopback.
# Knobs (environment): RUNS, TARGETS ("cipherchat-tls cipherchat ngircd inspircd nats"), SCENARIOS
# ("fanout-1x100 fanout-50x20 conn-1000 conn-10000"), STEP_SECONDS (measured seconds per rate step, 5),
# START_RATE (2000), FACTOR (1.5), MAX_STEPS (12), FIRST_WARMUP (unmeasured seconds at the first rate
# before the first step, 10: a .NET server starts on unoptimized JIT code and reaches its steady
# state within seconds; every target gets the same warm-up), SKIP_BUILD (set: use the existing Release builds),
# NICE (0; on a machine shared with other work, -20 as root gives the server and the generator the
# CPU before anything else, which keeps the others' load out of the numbers: the processes get that
# nice value, and so does this script's scheduler autogroup while it runs, since with autogroups
# (kernel.sched_autogroup_enabled=1) a nice value only counts inside its own session),
# SERVER_BUILD (full and cluster: native, the server is the published executable, `dotnet publish
# src/CipherChat.Cli -c Release`, what a user installs, Native AOT; jit: the Release build that
# `dotnet run -c Release` runs, the default of quick and cli).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MODE="${1:-full}"
RUNS="${RUNS:-3}"
TARGETS="${TARGETS:-cipherchat-tls cipherchat ngircd inspircd nats}"
SCENARIOS="${SCENARIOS:-fanout-1x100 fanout-50x20 conn-1000 conn-10000}"
STEP_SECONDS="${STEP_SECONDS:-5}"
START_RATE="${START_RATE:-2000}"
FACTOR="${FACTOR:-1.5}"
MAX_STEPS="${MAX_STEPS:-12}"
FIRST_WARMUP="${FIRST_WARMUP:-10}"
NICE="${NICE:-0}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

LOADGEN="$ROOT/bench/CipherChat.LoadGen/bin/Release/net10.0/cipherchat-loadgen"
# quick and cli start a server of the Release build (no publish, so quick stays under a minute).
case "$MODE" in
  quick | cli) SERVER_BUILD="${SERVER_BUILD:-jit}" ;;
  *) SERVER_BUILD="${SERVER_BUILD:-native}" ;;
esac
# The published server lives beside the generator's build output (ignored by git), so SKIP_BUILD reuses it.
SERVER_PUBLISH="$ROOT/bench/CipherChat.LoadGen/bin/server-native"
case "$SERVER_BUILD" in
  native) DEFAULT_SERVER="$SERVER_PUBLISH/cipherchat" ;;
  jit) DEFAULT_SERVER="$ROOT/src/CipherChat.Cli/bin/Release/net10.0/cipherchat" ;;
  *) echo "SERVER_BUILD must be native or jit" >&2; exit 2 ;;
esac
# CIPHERCHAT_BIN: another build of `cipherchat` to measure with this generator (e.g. an older commit's).
CIPHERCHAT="${CIPHERCHAT_BIN:-$DEFAULT_SERVER}"
WORK="$(mktemp -d /tmp/cipherchat-bench.XXXXXX)"
SERVER_PID=""
SERVER_PORT=""

log() { echo "[bench] $*" >&2; }

AUTOGROUP_NICE=""

CLUSTER_PIDS=()

cleanup() {
  stop_server
  local pid
  for pid in "${CLUSTER_PIDS[@]}"; do
    SERVER_PID="$pid"
    stop_server
  done
  rm -rf "$WORK"
  if [[ -n "$AUTOGROUP_NICE" ]]; then
    echo "$AUTOGROUP_NICE" >"/proc/$$/autogroup" 2>/dev/null || true
  fi
}

raise_priority() {
  if [[ "$NICE" != 0 && -w "/proc/$$/autogroup" ]]; then
    AUTOGROUP_NICE="$(awk '{print $3}' "/proc/$$/autogroup")"
    if echo "$NICE" >"/proc/$$/autogroup" 2>/dev/null; then
      log "scheduler autogroup nice: $AUTOGROUP_NICE -> $NICE (restored at exit)"
    else
      AUTOGROUP_NICE=""
    fi
  fi
}
trap cleanup EXIT

# 10k connections need 10k descriptors on each side, plus some; raise the limit for this shell and its children.
raise_fd_limit() {
  local want=65536
  ulimit -Hn "$want" 2>/dev/null || true
  ulimit -Sn "$want" 2>/dev/null || ulimit -Sn "$(ulimit -Hn)"
  log "open files limit: $(ulimit -n)"
}

install_missing() {
  local missing=()
  command -v taskset >/dev/null || missing+=(util-linux)
  if [[ "$MODE" != quick ]]; then
    command -v ngircd >/dev/null || missing+=(ngircd)
    command -v inspircd >/dev/null || missing+=(inspircd)
    command -v nats-server >/dev/null || missing+=(nats-server)
  fi
  if ((${#missing[@]})); then
    log "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  # Debian starts daemons it installs where it can; the benchmark starts its own on other ports.
  for unit in ngircd inspircd nats-server; do
    systemctl stop "$unit" 2>/dev/null || true
  done
}

build() {
  if [[ -n "${SKIP_BUILD:-}" ]]; then
    log "SKIP_BUILD set: using the existing Release builds"
    return
  fi
  log "building (Release)"
  dotnet build "$ROOT/src/CipherChat.Cli/CipherChat.Cli.csproj" -c Release -nologo -v q -clp:ErrorsOnly >&2
  dotnet build "$ROOT/bench/CipherChat.LoadGen/CipherChat.LoadGen.csproj" -c Release -nologo -v q -clp:ErrorsOnly >&2
  if [[ "$SERVER_BUILD" == native && -z "${CIPHERCHAT_BIN:-}" && "$MODE" != cli ]]; then
    log "publishing the server as users install it (Native AOT, a few minutes)"
    dotnet publish "$ROOT/src/CipherChat.Cli/CipherChat.Cli.csproj" -c Release -o "$SERVER_PUBLISH" -nologo -v q -clp:ErrorsOnly >&2
  fi
}

free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
}

wait_port() {
  local port="$1" deadline=$((SECONDS + 60))
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if ((SECONDS > deadline)) || ! kill -0 "$SERVER_PID" 2>/dev/null; then
      log "server did not come up on port $port; its log:"
      tail -n 30 "$WORK/server.log" >&2 || true
      return 1
    fi
    sleep 0.2
  done
}

# start_server TARGET: starts a fresh server pinned to CPU 0 on a free loopback port.
start_server() {
  local target="$1"
  SERVER_PORT="$(free_port)"
  case "$target" in
    cipherchat-tls | cipherchat)
      local tls=auto
      [[ "$target" == cipherchat ]] && tls=off
      rm -rf "$WORK/data" && mkdir -p "$WORK/data"
      # The per-connection send-rate limit (20/s, an abuse guard) is lifted as the peers' flood
      # control is; durability is not: every message is on disk before it is acknowledged.
      CIPHERCHAT_Server__SendRatePerSecond=1000000 CIPHERCHAT_Server__SendBurst=1000000 \
      CIPHERCHAT_Logging__LogLevel__Default=Warning \
        nice -n "$NICE" taskset -c 0 "$CIPHERCHAT" server --listen "127.0.0.1:$SERVER_PORT" --data "$WORK/data" --tls "$tls" \
        >"$WORK/server.log" 2>&1 &
      ;;
    ngircd)
      sed "s/^\tPorts = .*/\tPorts = $SERVER_PORT/" "$ROOT/bench/peers/ngircd.conf" >"$WORK/ngircd.conf"
      nice -n "$NICE" taskset -c 0 ngircd --nodaemon --config "$WORK/ngircd.conf" >"$WORK/server.log" 2>&1 &
      ;;
    inspircd)
      sed "s/port=\"16668\"/port=\"$SERVER_PORT\"/" "$ROOT/bench/peers/inspircd.conf" >"$WORK/inspircd.conf"
      nice -n "$NICE" taskset -c 0 inspircd --nofork --runasroot --config="$WORK/inspircd.conf" >"$WORK/server.log" 2>&1 &
      ;;
    nats)
      nice -n "$NICE" taskset -c 0 nats-server -c "$ROOT/bench/peers/nats-server.conf" -a 127.0.0.1 -p "$SERVER_PORT" >"$WORK/server.log" 2>&1 &
      ;;
    *) log "unknown target $target"; return 1 ;;
  esac
  SERVER_PID=$!
  wait_port "$SERVER_PORT"
}

stop_server() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    # A server shutting down with 10k clients can take minutes (ngIRCd does); the run is over, so
    # after 15 s it is killed.
    local waited=0
    while kill -0 "$SERVER_PID" 2>/dev/null && ((waited < 150)); do
      sleep 0.1
      waited=$((waited + 1))
    done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}

generator_target_args() {
  case "$1" in
    cipherchat-tls) echo "--target cipherchat --tls on" ;;
    cipherchat) echo "--target cipherchat --tls off" ;;
    ngircd | inspircd) echo "--target irc" ;;
    nats) echo "--target nats" ;;
  esac
}

# run_scenario TARGET SCENARIO: one run against a fresh server; prints the JSON line.
run_scenario() {
  local target="$1" scenario="$2" args
  args="$(generator_target_args "$target") --label $target --server 127.0.0.1:$SERVER_PORT --server-pid $SERVER_PID --json"
  case "$scenario" in
    fanout-*)
      local shape="${scenario#fanout-}"
      # shellcheck disable=SC2086
      nice -n "$NICE" taskset -c 1 "$LOADGEN" fanout $args --rooms "${shape%x*}" --members "${shape#*x}" \
        --find --rate "$START_RATE" --factor "$FACTOR" --max-steps "$MAX_STEPS" --duration "$STEP_SECONDS" --warmup 1 \
        --first-warmup "$FIRST_WARMUP" --drain 2
      ;;
    conn-*)
      # shellcheck disable=SC2086
      nice -n "$NICE" taskset -c 1 "$LOADGEN" connections $args --connections "${scenario#conn-}" --room-size 10 --hold 5 --parallel 64
      ;;
  esac
}

machine_note() {
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -srm); $(nproc) CPUs; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load: $(cut -d' ' -f1-3 /proc/loadavg)"
}

main_quick() {
  build
  raise_fd_limit
  raise_priority
  start_server cipherchat-tls
  log "CipherChat (TLS on) pid $SERVER_PID on 127.0.0.1:$SERVER_PORT; load $(cut -d' ' -f1-3 /proc/loadavg)"
  local line
  line="$(nice -n "$NICE" taskset -c 1 "$LOADGEN" fanout --target cipherchat --tls on --label cipherchat-tls \
    --server "127.0.0.1:$SERVER_PORT" --server-pid "$SERVER_PID" \
    --rooms 1 --members 100 --rate 2000 --duration 5 --warmup 1 --drain 2 --json)" || {
    echo "$line"
    return 1
  }
  stop_server
  echo "$line"
}

main_full() {
  install_missing
  build
  raise_fd_limit
  raise_priority
  local out
  out="$ROOT/bench/results/$(date -u +%Y%m%dT%H%M%SZ)"
  mkdir -p "$out"
  machine_note | tee "$out/machine.txt" >&2
  echo "# nice $NICE; server: $CIPHERCHAT ($SERVER_BUILD)" >>"$out/machine.txt"
  for scenario in $SCENARIOS; do
    for run in $(seq 1 "$RUNS"); do
      for target in $TARGETS; do
        start_server "$target"
        log "$scenario run $run/$RUNS: $target (pid $SERVER_PID, port $SERVER_PORT, load $(cut -d' ' -f1 /proc/loadavg))"
        if ! run_scenario "$target" "$scenario" >>"$out/results.jsonl"; then
          log "$target $scenario run $run did not finish cleanly (see its JSON line)"
        fi
        stop_server
        sleep 1
      done
    done
  done
  "$LOADGEN" summarize "$out/results.jsonl" | tee "$out/summary.md"
  log "results in $out"
}

main_cli() {
  command -v hyperfine >/dev/null || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
  }
  build
  local out cli
  out="$ROOT/bench/results/$(date -u +%Y%m%dT%H%M%SZ)-cli"
  mkdir -p "$out"
  # The client under test is the published executable, built as the README tells users to; the server is the
  # ordinary Release build, as in the other modes.
  cli="$WORK/publish/cipherchat"
  if [[ -n "${SKIP_BUILD:-}" && -x "${CLI_BIN:-}" ]]; then
    cli="$CLI_BIN"
  else
    log "publishing the CLI (Release) ${CLI_PUBLISH_ARGS:-}"
    # shellcheck disable=SC2086
    dotnet publish "$ROOT/src/CipherChat.Cli/CipherChat.Cli.csproj" -c Release -o "$WORK/publish" -nologo -v q \
      -clp:ErrorsOnly ${CLI_PUBLISH_ARGS:-} >&2
  fi
  machine_note | tee "$out/machine.txt" >&2
  echo "# client: $cli" >>"$out/machine.txt"
  raise_priority
  start_server cipherchat-tls
  export CIPHERCHAT_HOME="$WORK/home"
  local key
  key="$("$cli" keygen)"
  "$cli" register --server "127.0.0.1:$SERVER_PORT" --user bench >/dev/null
  "$cli" room join bench --key "$key" >/dev/null
  "$cli" send --room bench "first" >/dev/null
  "$cli" read --room bench >/dev/null
  # The client runs where the user is: not pinned, like the server here (on CPU 0) it is a separate process.
  # -N: no shell in between, so the times are the executable's alone.
  local runs="${CLI_RUNS:-30}" name
  # keygen touches neither network nor disk: the start-up cost of the executable alone.
  cli_case keygen "$cli" keygen
  cli_case send "$cli" send --room bench "a message from the benchmark"
  "$cli" read --room bench >/dev/null
  cli_case read "$cli" read --room bench
  stop_server
  {
    echo "| command | median ms | mean ± σ ms | min ms | user CPU ms | system CPU ms | load before → after |"
    echo "|---|---:|---:|---:|---:|---:|---|"
    for name in keygen send read; do
      python3 - "$out/$name.json" "$name" "$(cat "$out/$name.load")" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
ms = lambda v: f"{v * 1000:.0f}"
print(f"| {sys.argv[2]} | {ms(r['median'])} | {ms(r['mean'])} ± {ms(r['stddev'])} | {ms(r['min'])} | {ms(r['user'])} | {ms(r['system'])} | {sys.argv[3]} |")
PY
    done
    echo
    echo "$runs timed runs each after 3 warm-ups; user and system CPU are means over the runs."
  } | tee "$out/summary.md"
  log "results in $out"
}

# cli_case NAME COMMAND...: hyperfine over one command; the 1-minute load average before and after.
cli_case() {
  local name="$1"
  shift
  local before
  before="$(cut -d' ' -f1 /proc/loadavg)"
  hyperfine -N --warmup 3 --runs "${CLI_RUNS:-30}" --export-json "$out/$name.json" --export-markdown "$out/$name.md" \
    --command-name "cipherchat $name" -- "$(printf '%q ' "$@")" >&2
  echo "$before → $(cut -d' ' -f1 /proc/loadavg)" >"$out/$name.load"
}

main_cluster() {
  : "${CIPHERCHAT_TEST_POSTGRES:?set it (eval \"\$(.ci/services.sh start)\")}"
  : "${CIPHERCHAT_TEST_REDIS:?set it (eval \"\$(.ci/services.sh start)\")}"
  build
  raise_fd_limit
  raise_priority
  local out
  out="$ROOT/bench/results/$(date -u +%Y%m%dT%H%M%SZ)-cluster"
  mkdir -p "$out"
  machine_note | tee "$out/machine.txt" >&2
  local n scenario shape i
  for n in ${NODES:-1 2 3}; do
    local pids=() addrs=()
    for i in $(seq 1 "$n"); do
      local port
      port="$(free_port)"
      mkdir -p "$WORK/node$i"
      # Nodes on NODE_CPUS (default CPU 0), the generator on CPU 1, as for a single server; PostgreSQL and
      # Redis are not pinned.
      CIPHERCHAT_Server__SendRatePerSecond=1000000 CIPHERCHAT_Server__SendBurst=1000000 \
      CIPHERCHAT_Logging__LogLevel__Default=Warning \
        nice -n "$NICE" taskset -c "${NODE_CPUS:-0}" "$CIPHERCHAT" server --listen "127.0.0.1:$port" --data "$WORK/node$i" --tls off \
        --postgres "$CIPHERCHAT_TEST_POSTGRES" --redis "$CIPHERCHAT_TEST_REDIS" >"$WORK/node$i.log" 2>&1 &
      SERVER_PID=$!
      pids+=("$SERVER_PID")
      CLUSTER_PIDS=("${pids[@]}")
      addrs+=("127.0.0.1:$port")
      wait_port "$port"
    done
    for scenario in ${SCENARIOS_CLUSTER:-fanout-1x100 fanout-50x20}; do
      shape="${scenario#fanout-}"
      log "$n node(s) ${addrs[*]} (pids ${pids[*]}): $scenario; uptime:$(uptime | sed 's/.*load/ load/')"
      echo "# $n node(s) on CPU ${NODE_CPUS:-0}, $scenario $(date -u +%H:%M:%SZ) uptime:$(uptime | sed 's/.*load/ load/')" >>"$out/machine.txt"
      nice -n "$NICE" taskset -c 1 "$LOADGEN" fanout --target cipherchat --tls off --label "cluster-${n}n" \
        --server "$(IFS=,; echo "${addrs[*]}")" --server-pid "$(IFS=,; echo "${pids[*]}")" \
        --rooms "${shape%x*}" --members "${shape#*x}" --find --rate "$START_RATE" --factor "$FACTOR" \
        --max-steps "$MAX_STEPS" --duration "$STEP_SECONDS" --warmup 1 --drain 2 --json >>"$out/results.jsonl" \
        || log "$n node(s) $scenario did not finish cleanly (see its JSON line)"
    done
    for i in "${pids[@]}"; do
      SERVER_PID="$i"
      stop_server
    done
    CLUSTER_PIDS=()
  done
  log "results in $out"
}

case "$MODE" in
  quick) main_quick ;;
  cluster) main_cluster ;;
  cli) main_cli ;;
  full) main_full ;;
  *) echo "usage: bench/run.sh [quick|cli|cluster|full]" >&2; exit 2 ;;
esac
