#!/bin/sh
# Says which tests make test will skip on this machine and what they need, so
# that nothing is skipped silently (make test runs it before and after the
# tests). It never fails: the tests themselves skip what cannot run here.
# .ci/run installs the packages (as root, with apt-get) before make test.
missing=""
if ! command -v gcc >/dev/null 2>&1 && ! command -v cc >/dev/null 2>&1; then
	missing="$missing gcc"
fi
if [ "$(id -u)" != 0 ]; then
	echo "make test: not running as root, so the tests in network namespaces are SKIPPED:"
	echo "  hosts over udp4 and udp6, eth-dix and eth-llc, the 10 MB transfer over a lossy"
	echo "  link, and interoperability with the reference. Run make test as root (as .ci/run"
	echo "  does in CI) to include them."
else
	command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
	command -v nft >/dev/null 2>&1 || missing="$missing nftables"
	[ -e /opt/o7s-ref ] || echo "make test: the reference is not installed at /opt/o7s-ref: the interoperability tests are SKIPPED (.ci/run installs it from the reference implementation's install kit, when present beside the checkout)."
fi
if [ -n "$missing" ]; then
	echo "make test: missing:$missing. The tests that need them are SKIPPED (nftables: the"
	echo "  loss tests on kernels without tc netem; iproute2: every test in network namespaces;"
	echo "  gcc: the race detector). Install with: apt-get install$missing (.ci/run does)."
fi
exit 0
