#!/usr/bin/env bash
# The demo: build everything, start a private irmd in a temporary run
# directory, bootstrap a local IPCP, register and bind an oping server, ping it
# five times, and tear everything down. No root needed; the default run
# directory (/var/run/ouroboros) is never touched.
#
# DEMO_DIRECT=1 lets the irmd connect the two processes directly instead of
# through the local IPCP.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=$(mktemp -d /tmp/o7s-demo-bin.XXXXXX)
run=$(mktemp -d /tmp/o7s-demo-run.XXXXXX)
irmd_pid=""
cleanup() {
	if [ -n "$irmd_pid" ]; then
		kill -TERM "$irmd_pid" 2>/dev/null || true
		wait "$irmd_pid" 2>/dev/null || true
	fi
	rm -rf "$bin" "$run"
}
trap cleanup EXIT INT TERM

echo "== building into $bin"
go build -o "$bin/" ./cmd/...
export OUROBOROS_RUN_DIR="$run" PATH="$bin:$PATH"

direct="--no-direct"
[ "${DEMO_DIRECT:-0}" = 1 ] && direct=""
echo "== starting a private irmd in $run"
irmd --stdout $direct > "$run/irmd.log" 2>&1 &
irmd_pid=$!
for _ in $(seq 100); do [ -S "$run/irm.sock" ] && break; sleep 0.05; done
[ -S "$run/irm.sock" ] || { cat "$run/irmd.log"; echo "irmd did not start" >&2; exit 1; }

echo "== irm ipcp bootstrap type local name local-ipcp layer local-layer"
irm ipcp bootstrap type local name local-ipcp layer local-layer
echo "== irm name register oping.demo layer local-layer"
irm name register oping.demo layer local-layer
echo "== oping -l &"
oping -l > "$run/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do grep -q "server started" "$run/server.log" && break; sleep 0.05; done
echo "== irm bind process $server name oping.demo"
irm bind process "$server" name oping.demo
irm ipcp list
echo "== oping -n oping.demo -c 5"
oping -n oping.demo -c 5
echo
echo "== irmd log"
cat "$run/irmd.log"
