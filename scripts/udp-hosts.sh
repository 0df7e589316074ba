#!/usr/bin/env bash
# Two hosts over udp4 on one machine: two private irmds (hosts A and B, each
# with its own run directory) whose udp4 IPCPs are bound to 127.0.0.1 and
# 127.0.0.2, a hosts file that tells A where B's name is, an oping server on
# B, and oping from A. Everything is torn down at the end. No root needed;
# only loopback addresses carry traffic.
#
#   scripts/udp-hosts.sh [oping arguments]     default: -c 5
#
# UDP_PORT picks the layer's port (default: 3435 + a random offset).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=$(mktemp -d /tmp/o7s-udp-bin.XXXXXX)
top=$(mktemp -d /tmp/o7s-udp.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$bin" "$top"
}
trap cleanup EXIT INT TERM

echo "== building into $bin"
go build -o "$bin/" ./cmd/...
export PATH="$bin:$PATH"
port=${UDP_PORT:-$((3435 + RANDOM % 20000))}
name=oping.b

# The DNS name of an Ouroboros name is the hex of its MD5 hash.
hex=$(printf '%s' "$name" | md5sum | cut -c1-32)
echo "127.0.0.2 $hex   # $name" > "$top/hosts"
export OUROBOROS_HOSTS="$top/hosts"

start_host() { # name dir
	mkdir -p "$2"
	OUROBOROS_RUN_DIR="$2" irmd --stdout --no-direct > "$2/irmd.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do [ -S "$2/irm.sock" ] && break; sleep 0.05; done
	[ -S "$2/irm.sock" ] || { cat "$2/irmd.log"; echo "irmd of host $1 did not start" >&2; exit 1; }
}
A="$top/a" B="$top/b"
echo "== host A: irmd in $A; host B: irmd in $B"
start_host A "$A"
start_host B "$B"

echo "== A: irm ipcp bootstrap type udp4 name udp-a layer udp-layer ip 127.0.0.1 port $port"
OUROBOROS_RUN_DIR="$A" irm ipcp bootstrap type udp4 name udp-a layer udp-layer ip 127.0.0.1 port "$port"
echo "== B: irm ipcp bootstrap type udp4 name udp-b layer udp-layer ip 127.0.0.2 port $port"
OUROBOROS_RUN_DIR="$B" irm ipcp bootstrap type udp4 name udp-b layer udp-layer ip 127.0.0.2 port "$port"
echo "== B: irm name register $name layer udp-layer; oping -l; irm bind process"
OUROBOROS_RUN_DIR="$B" irm name register "$name" layer udp-layer
OUROBOROS_RUN_DIR="$B" oping -l > "$B/server.log" 2>&1 &
server=$!
pids+=($server)
for _ in $(seq 100); do grep -q "server started" "$B/server.log" && break; sleep 0.05; done
OUROBOROS_RUN_DIR="$B" irm bind process "$server" name "$name"

echo "== A: oping -n $name ${*:--c 5}"
if [ $# -eq 0 ]; then set -- -c 5; fi
OUROBOROS_RUN_DIR="$A" oping -n "$name" "$@"
echo
echo "== host A log"; cat "$A/irmd.log"
echo "== host B log"; cat "$B/irmd.log"
