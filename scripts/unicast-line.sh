#!/usr/bin/env bash
# A unicast layer of three members on one machine: three private irmds
# (hosts A, B and C, each with its own run directory) joined by a udp4
# layer on 127.0.0.1, 127.0.0.2 and 127.0.0.3, and a unicast layer "uni"
# over it, connected in a line A - B - C. A bootstraps the layer, B enrolls
# through A (by the layer's name), C through B (by B's name); an oping
# server on C is then reached from A, two hops away, through B. Everything
# is torn down at the end. No root needed; only loopback addresses carry
# traffic.
#
#   scripts/unicast-line.sh [oping arguments]     default: -c 5
#
# UDP_PORT picks the udp4 layer's port (default: 3435 + a random offset).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=$(mktemp -d /tmp/o7s-uni-bin.XXXXXX)
top=$(mktemp -d /tmp/o7s-uni.XXXXXX)
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

# The udp4 IPCPs find a name's host in a hosts file, by the hex of the
# name's MD5 hash: the names of the unicast members (and the layer's name,
# at A) in the udp4 layer.
host_line() { printf '%s %s   # %s\n' "$2" "$(printf '%s' "$1" | md5sum | cut -c1-32)" "$1"; }
{
	host_line uni 127.0.0.1
	host_line uni.a 127.0.0.1
	host_line uni.b 127.0.0.2
	host_line uni.c 127.0.0.3
} > "$top/hosts"
export OUROBOROS_HOSTS="$top/hosts"

start_host() { # name dir
	mkdir -p "$2"
	OUROBOROS_RUN_DIR="$2" irmd --stdout --no-direct > "$2/irmd.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do [ -S "$2/irm.sock" ] && break; sleep 0.05; done
	[ -S "$2/irm.sock" ] || { cat "$2/irmd.log"; echo "irmd of host $1 did not start" >&2; exit 1; }
}
on() { # host command...: run a command on a host, echoing it
	local dir=$top/$1
	shift
	echo "== $(basename "$dir" | tr a-z A-Z): $*"
	OUROBOROS_RUN_DIR="$dir" "$@"
}
for h in a b c; do start_host "$h" "$top/$h"; done
ip=(127.0.0.1 127.0.0.2 127.0.0.3)
i=0
for h in a b c; do
	on "$h" irm ipcp bootstrap type udp4 name udp layer udp ip "${ip[$i]}" port "$port"
	i=$((i + 1))
done

on a irm ipcp bootstrap type unicast name uni.a layer uni autobind
on a irm name register uni.a layer udp
on a irm name register uni layer udp
on b irm ipcp enroll name uni.b layer uni autobind
on b irm name register uni.b layer udp
on b irm ipcp connect name uni.b dst uni.a
on c irm ipcp enroll name uni.c dst uni.b autobind
on c irm name register uni.c layer udp
on c irm ipcp connect name uni.c dst uni.b

on c irm name register oping.c layer uni
echo "== C: oping -l &; irm bind process"
OUROBOROS_RUN_DIR="$top/c" oping -l > "$top/c/server.log" 2>&1 &
server=$!
pids+=($server)
for _ in $(seq 100); do grep -q "server started" "$top/c/server.log" && break; sleep 0.05; done
OUROBOROS_RUN_DIR="$top/c" irm bind process "$server" name oping.c

if [ $# -eq 0 ]; then set -- -c 5; fi
# The name reaches A's directory once C's DHT bootstrap went through B,
# which the connections make possible within a second or so.
for try in $(seq 20); do
	if OUROBOROS_RUN_DIR="$top/a" oping -n oping.c -c 1 > /dev/null 2>&1; then break; fi
	sleep 0.5
done
on a oping -n oping.c "$@"
echo
for h in a b c; do echo "== host $(echo $h | tr a-z A-Z) log"; cat "$top/$h/irmd.log"; done
