#!/usr/bin/env bash
# Ingest benchmark: Klaxon (every 2xx fsynced to bbolt) against Prometheus
# Alertmanager (alerts kept in memory), both on 127.0.0.1, in interleaved
# rounds so that machine noise hits both alike (which goes first
# alternates by round).
#
#   bash bench/run.sh
#
# Env: ROUNDS (6: each server first in half of them), DURATION (10s,
# measured per scenario), WARMUP (1s), SENDERS (16), SOLO (0; 1 adds
# klaxon-*-solo: every alert its own incident),
# BASE (a git revision: adds klaxon-*-base, Klaxon built from it, each run
# right after the same scenario of this tree, for a change's effect in the
# same rounds), RESULTS (bench/out/results-<time>.jsonl).
#
# The load generator also reads each server's CPU time and the machine's
# idle and stolen time over the measured seconds (/proc).
#
# Each round starts with an fsync probe of the disk (bench/fsyncprobe), since
# Klaxon's figures move with its fsync latency and Alertmanager's do not.
#
# Every scenario run gets a fresh server: a new Klaxon process on an empty
# bbolt file, or a new Alertmanager process with empty storage.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-6}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-1s}
SENDERS=${SENDERS:-16}
SOLO=${SOLO:-0}
BASE=${BASE:-}
RESULTS=${RESULTS:-bench/out/results-$(date -u +%Y%m%dT%H%M%SZ).jsonl}
KLAXON_ADDR=127.0.0.1:18080
AM_ADDR=127.0.0.1:19093
TOKEN=bench-token-0123456789

if ! command -v prometheus-alertmanager >/dev/null || ! command -v curl >/dev/null; then
	apt-get update && apt-get install -y prometheus-alertmanager curl
fi

tmp=$(mktemp -d)
klaxon_pid= am_pid=
stop() { # stop PID: SIGTERM, then wait for it (bounded), then SIGKILL
	local pid=$1
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
cleanup() {
	stop "$klaxon_pid"
	stop "$am_pid"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building klaxon, loadgen, summarize into $tmp" >&2
go build -o "$tmp/klaxon" ./cmd/klaxon
go build -o "$tmp/loadgen" ./bench/loadgen
go build -o "$tmp/summarize" ./bench/summarize
go build -o "$tmp/fsyncprobe" ./bench/fsyncprobe
if [ -n "$BASE" ]; then
	echo "building klaxon-base from $BASE" >&2
	mkdir "$tmp/base-src"
	git archive "$BASE" | tar -x -C "$tmp/base-src"
	(cd "$tmp/base-src" && go build -o "$tmp/klaxon-base" ./cmd/klaxon)
fi

# Klaxon: one person with contact rules on one policy; bench groups by
# Alertmanager's groupKey (all alerts join one incident), bench-solo by the
# unique id label (every alert opens its own incident and pages).
cat >"$tmp/klaxon.yaml" <<EOF
listen: $KLAXON_ADDR
database: $tmp/klaxon.db
log_level: warn
max_body_bytes: 1048576
# The benchmark is the one sender allowed to flood.
rate_limit: {per_second: 0}
people:
  - name: oncall
    timezone: UTC
    phone: "+46701740605"
    contact_rules:
      - {channel: sms, after: 0s}
      - {channel: voice, after: 30s}
policies:
  - name: bench
    levels:
      - targets: [oncall]
        delay: 5m
services:
  - name: bench
    policy: bench
  - name: bench-solo
    policy: bench
    group_by: [id]
integrations:
  - name: am-bench
    service: bench
    format: alertmanager
    token: $TOKEN
  - name: am-solo
    service: bench-solo
    format: alertmanager
    token: $TOKEN
EOF
"$tmp/klaxon" check --config "$tmp/klaxon.yaml" >&2

# Alertmanager: one route to a receiver with no integrations, so nothing is
# ever sent anywhere; clustering off.
cat >"$tmp/alertmanager.yml" <<EOF
route:
  receiver: blackhole
receivers:
  - name: blackhole
EOF

wait_http() { # wait_http URL PID: poll until 200, at most 10 s
	for _ in $(seq 100); do
		kill -0 "$2" 2>/dev/null || { echo "server for $1 exited" >&2; return 1; }
		curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "timed out waiting for $1" >&2
	return 1
}

start_klaxon() { # start_klaxon BINARY
	rm -rf "$tmp/klaxon.db" "$tmp/klaxon.db.intake" "$tmp"/klaxon.db.intake.other-*
	"$1" serve --config "$tmp/klaxon.yaml" --db "$tmp/klaxon.db" --listen "$KLAXON_ADDR" \
		2>>"$tmp/klaxon.log" &
	klaxon_pid=$!
	wait_http "http://$KLAXON_ADDR/healthz" "$klaxon_pid"
}

start_am() {
	rm -rf "$tmp/am-data" && mkdir "$tmp/am-data"
	prometheus-alertmanager --config.file="$tmp/alertmanager.yml" --storage.path="$tmp/am-data" \
		--web.listen-address="$AM_ADDR" --cluster.listen-address= --log.level=warn \
		2>>"$tmp/alertmanager.log" &
	am_pid=$!
	wait_http "http://$AM_ADDR/-/ready" "$am_pid"
}

# backlog: alerts Klaxon accepted (2xx, in its intake journal) and has not
# yet applied to incidents.
backlog() {
	curl -fsS --max-time 2 "http://$KLAXON_ADDR/metrics" | awk '/^klaxon_intake_backlog_alerts /{printf "%d", $2}'
}

# flushes: the intake journal's flushes over the whole run (warm-up
# included), from /metrics: their mean duration in µs, and the deliveries
# that shared each, as JSON fields.
flushes() {
	curl -fsS --max-time 2 "http://$KLAXON_ADDR/metrics" | awk '
		/^klaxon_intake_flush_seconds_sum /{s=$2} /^klaxon_intake_flush_seconds_count /{c=$2}
		/^klaxon_intake_flush_deliveries_sum /{d=$2}
		END{if (c > 0) printf "\"flush_mean_us\":%.1f,\"deliveries_per_flush\":%.2f", s/c*1e6, d/c; else printf "\"flush_mean_us\":0,\"deliveries_per_flush\":0"}'
}

# drain NAME ROUND: the backlog when the load stops, how long Klaxon then
# takes to apply it (polled every 50 ms), the CPU time that took (utime +
# stime, in /proc's hundredths of a second), and the run's journal
# flushes, as a JSON line.
drain() {
	local first n start end cpu0 cpu1
	start=$(date +%s%N)
	cpu0=$(cpu_ticks "$klaxon_pid")
	first=$(backlog) n=$first
	while [ "${n:-0}" -gt 0 ]; do
		sleep 0.05
		n=$(backlog)
	done
	end=$(date +%s%N)
	cpu1=$(cpu_ticks "$klaxon_pid")
	printf '{"drain":"%s","round":%d,"backlog_alerts":%d,"drain_s":%.3f,"drain_cpu_s":%.2f,%s}\n' "$1" "$2" "${first:-0}" \
		"$(awk -v a="$start" -v b="$end" 'BEGIN{print (b-a)/1e9}')" "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN{print (b-a)/100}')" \
		"$(flushes)"
}

# cpu_ticks PID: the process's user + system time in /proc's ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

mkdir -p "$(dirname "$RESULTS")"
: >"$RESULTS"

# scenario NAME ROUND TARGET ALERTS [INTEGRATION]: one run on a fresh server;
# TARGET is klaxon, klaxon-base (built from BASE) or alertmanager.
scenario() {
	local name=$1 round=$2 target=$3 alerts=$4 integration=${5:-am-bench} out rc=0
	local args=(-scenario "$name" -round "$round" -senders "$SENDERS" -alerts "$alerts"
		-duration "$DURATION" -warmup "$WARMUP")
	if [ "$target" != alertmanager ]; then
		start_klaxon "$tmp/$target"
		out=$("$tmp/loadgen" -target klaxon -url "http://$KLAXON_ADDR" -integration "$integration" \
			-token "$TOKEN" -pid "$klaxon_pid" "${args[@]}") || rc=$?
		drain "$name" "$round" | tee -a "$RESULTS" >&2
		stop "$klaxon_pid"; klaxon_pid=
	else
		start_am
		out=$("$tmp/loadgen" -target alertmanager -url "http://$AM_ADDR" -pid "$am_pid" "${args[@]}") || rc=$?
		stop "$am_pid"; am_pid=
	fi
	if [ -z "$out" ]; then
		echo "loadgen failed (exit $rc) in $name round $round" >&2
		return 1
	fi
	echo "$out" | tee -a "$RESULTS" >&2
}

# side ROUND ALERTS: Klaxon (and the BASE build) and Alertmanager at one
# size. Who goes first alternates by round: the host carries load over
# from whatever ran just before (a flood saturating both cores, the build,
# the probe) as stolen time, and it must fall on both servers alike.
side() {
	local round=$1 alerts=$2 who order=(klaxon base alertmanager)
	[ $((round % 2)) = 1 ] || order=(alertmanager klaxon base)
	for who in "${order[@]}"; do
		case $who in
		klaxon) scenario "klaxon-$alerts" "$round" klaxon "$alerts" ;;
		base) [ -z "$BASE" ] || scenario "klaxon-$alerts-base" "$round" klaxon-base "$alerts" ;;
		alertmanager) scenario "alertmanager-$alerts" "$round" alertmanager "$alerts" ;;
		esac
	done
}

for round in $(seq "$ROUNDS"); do
	echo "round $round/$ROUNDS" >&2
	# How fast durable writes are right now, on the disk Klaxon's file is on.
	"$tmp/fsyncprobe" -dir "$tmp" | tee -a "$RESULTS" >&2
	side "$round" 1
	side "$round" 100
	if [ "$SOLO" = 1 ]; then
		scenario klaxon-1-solo "$round" klaxon 1 am-solo
		scenario klaxon-100-solo "$round" klaxon 100 am-solo
	fi
done

if grep -q . "$tmp/klaxon.log" 2>/dev/null; then
	echo "klaxon logged (warn and above, last lines):" >&2
	tail -n 5 "$tmp/klaxon.log" >&2
fi
echo "results: $RESULTS" >&2
"$tmp/summarize" "$RESULTS"
