#!/bin/bash
# Failure rates of the reference implementation's oping client (root, with the
# reference installed at /opt/o7s-ref): against the reference's own oping -l
# and against ours, on the same topology (a reference node running the client,
# udp4 between network namespaces; ours runs in a namespace of its own).
# Each round runs -q raw, data and best against each server, interleaved, so
# that both see the same machine load. A failed run is followed by a rebuild
# of that pair from scratch. Prints one line per run and a table at the end;
# the clients' outputs and the irmd logs of failed runs stay in $OUT.
#
#   scripts/ref-client-rates.sh [ROUNDS [COUNT]]     # default 40 rounds of oping -c 20
#
# Servers: ref (the reference's oping -l), go (ours). Classes: OK (all sent,
# every answer, at least 3/4 on best), SEGV (client crashed), HANG (client
# blocked, killed by its 30 s timeout), ALLOC (no flow; the irmd logs say
# why), INVALID ("Invalid message"), STALL (not all sent), SHORT (all sent,
# too few answers); "+to" when it printed "Server timed out".
# Nodes o7rr1/o7rr2 (reference pair) and o7rr3 (client of ours) with our
# namespace o7rrg use 10.97.0.0/24 and 10.97.1.0/24, inside the namespaces only.
set -u
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces, the reference's nodes)" >&2; exit 1; }
[ -x /opt/o7s-ref/cnode.sh ] || { echo "the reference is not installed at /opt/o7s-ref" >&2; exit 1; }
ROUNDS=${1:-40}
N=${2:-20}
OUT=${OUT:-$(mktemp -d /tmp/o7s-ref-rates.XXXXXX)}
export O7S_REF_STATE=$OUT/state
if [ -z "${BIN:-}" ]; then
	BIN=$OUT/bin
	(cd "$(dirname "$0")/.." && go build -o "$BIN/" ./cmd/...) || exit 1
fi
C=/opt/o7s-ref/cnode.sh
mkdir -p "$OUT/runs" "$O7S_REF_STATE"
RUN=$OUT/run

up_ref() { # reference client o7rr1 -> reference server o7rr2
	$C start o7rr1 nodirect >/dev/null && $C start o7rr2 nodirect >/dev/null &&
	$C veth o7rr1 o7rr2 10.97.0.1/24 10.97.0.2/24 >/dev/null &&
	$C exec o7rr1 irm ipcp bootstrap type udp4 name u layer udp ip 10.97.0.1 &&
	$C exec o7rr2 irm ipcp bootstrap type udp4 name u layer udp ip 10.97.0.2 &&
	P=$($C bg o7rr2 srv oping -l) &&
	$C exec o7rr2 irm bind process "$P" name oping.srv &&
	$C exec o7rr2 irm name register oping.srv layer udp &&
	$C host o7rr1 oping.srv 10.97.0.2 >/dev/null &&
	$C exec o7rr1 irm name create oping.srv
}
down_ref() { $C stop o7rr1 >/dev/null 2>&1; $C stop o7rr2 >/dev/null 2>&1; }

up_go() { # reference client o7rr3 -> our server in netns o7rrg
	ip netns add o7rrg && ip -n o7rrg link set lo up &&
	$C start o7rr3 nodirect >/dev/null &&
	$C veth o7rr3 o7rrg 10.97.1.1/24 10.97.1.2/24 >/dev/null &&
	$C exec o7rr3 irm ipcp bootstrap type udp4 name u layer udp ip 10.97.1.1 || return 1
	rm -rf $RUN; mkdir -p $RUN
	ip netns exec o7rrg env PATH=$BIN:$PATH OUROBOROS_RUN_DIR=$RUN setsid $BIN/irmd --stdout --run-dir $RUN >"$OUT/go-irmd.log" 2>&1 &
	echo $! >"$OUT/go-irmd.pid"
	for _ in $(seq 50); do grep -q "daemon started" "$OUT/go-irmd.log" && break; sleep 0.2; done
	G="ip netns exec o7rrg env PATH=$BIN:$PATH OUROBOROS_RUN_DIR=$RUN"
	$G irm ipcp bootstrap type udp4 name udp layer udp ip 10.97.1.2 &&
	$G irm name register oping.srv layer udp || return 1
	$G stdbuf -oL oping -l >"$OUT/go-srv.log" 2>&1 &
	echo $! >"$OUT/go-srv.pid"
	for _ in $(seq 50); do grep -q "server started" "$OUT/go-srv.log" && break; sleep 0.2; done
	$G irm bind process "$(cat "$OUT/go-srv.pid")" name oping.srv &&
	$C host o7rr3 oping.srv 10.97.1.2 >/dev/null &&
	$C exec o7rr3 irm name create oping.srv
}
down_go() {
	$C stop o7rr3 >/dev/null 2>&1
	[ -f "$OUT/go-srv.pid" ] && kill "$(cat "$OUT/go-srv.pid")" 2>/dev/null
	if [ -f "$OUT/go-irmd.pid" ]; then
		p=$(cat "$OUT/go-irmd.pid"); kill -INT "$p" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$p" 2>/dev/null
	fi
	ip netns del o7rrg 2>/dev/null
	rm -f "$OUT/go-srv.pid" "$OUT/go-irmd.pid"
}

# one SERVER CUBE ROUND: prints a result line
one() {
	local srv=$1 q=$2 r=$3 node min out rc sent got cls
	[ "$srv" = ref ] && node=o7rr1 || node=o7rr3
	[ "$q" = best ] && min=$((N * 3 / 4)) || min=$N
	out="$OUT/runs/$srv-$q-$r.txt"
	$C exec $node timeout -k 2 30 stdbuf -oL oping -n oping.srv -c "$N" -i 50 -q "$q" >"$out" 2>&1
	rc=$?
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1/p' "$out")
	got=$(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\2/p' "$out")
	if [ $rc -eq 139 ] || grep -q -i segmentation "$out"; then cls=SEGV
	elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then cls=HANG
	elif grep -q "Failed to allocate" "$out"; then cls=ALLOC
	elif grep -q "Invalid message" "$out"; then cls=INVALID
	elif [ "${sent:-0}" -ne "$N" ]; then cls=STALL
	elif [ "${got:-0}" -lt "$min" ]; then cls=SHORT
	else cls=OK
	fi
	grep -q "Server timed out" "$out" && cls="$cls+to"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date +%T)" "$srv" "$q" "$r" "$cls" "$rc" "${sent:--}" "${got:--}" "$(cut -d' ' -f1 /proc/loadavg)"
}

trap 'down_ref; down_go; summary' EXIT
summary() {
	echo "runs per server and cube, by class (outputs in $OUT):"
	awk -F'\t' '{ sub(/\+to$/, "", $5); n[$2" "$3" "$5]++ } END { for (k in n) print n[k], k }' "$OUT/results.tsv" 2>/dev/null | sort -k2,3 -k1,1nr
}
down_ref; down_go
up_ref >"$OUT/up.log" 2>&1 || { echo "up_ref failed"; cat "$OUT/up.log"; exit 1; }
up_go >"$OUT/up.log" 2>&1 || { echo "up_go failed"; cat "$OUT/up.log"; exit 1; }
for r in $(seq "$ROUNDS"); do
	for q in raw data best; do
		for srv in ref go; do
			line=$(one $srv $q $r)
			echo "$line" | tee -a "$OUT/results.tsv"
			case "$line" in *$'\t'OK$'\t'*|*$'\t'OK+to$'\t'*) continue ;; esac
			if [ "$srv" = ref ]; then
				cp "$O7S_REF_STATE/o7rr1/irmd.log" "$OUT/runs/$srv-$q-$r.client-irmd.log" 2>/dev/null
				cp "$O7S_REF_STATE/o7rr2/irmd.log" "$OUT/runs/$srv-$q-$r.server-irmd.log" 2>/dev/null
				down_ref; up_ref >"$OUT/up.log" 2>&1 || { echo "up_ref failed"; cat "$OUT/up.log"; exit 1; }
			else
				cp "$O7S_REF_STATE/o7rr3/irmd.log" "$OUT/runs/$srv-$q-$r.client-irmd.log" 2>/dev/null
				cp "$OUT/go-irmd.log" "$OUT/runs/$srv-$q-$r.server-irmd.log" 2>/dev/null
				cp "$OUT/go-srv.log" "$OUT/runs/$srv-$q-$r.server.txt" 2>/dev/null
				down_go; up_go >"$OUT/up.log" 2>&1 || { echo "up_go failed"; cat "$OUT/up.log"; exit 1; }
			fi
		done
	done
done
