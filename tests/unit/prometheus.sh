#!/bin/bash
# The Prometheus files synfin ships, on the host: docs/prometheus's scrape
# configuration and rules pass `promtool check`, the rules' unit tests pass
# `promtool test rules`, and dist/synfin-exporter.service passes
# `systemd-analyze verify` as installed. One result line per check.
cd "$(dirname "$0")/../.." || exit 1
W=$(mktemp -d)
trap 'rm -rf $W' EXIT
result() { if [ "$2" -eq 0 ]; then echo "PASS $1"; else echo "FAIL $1"; [ -n "${3:-}" ] && echo "$3" | sed 's/^/#   /'; fi; }
D=docs/prometheus
out=$(promtool check config $D/prometheus.yml 2>&1); result promtool-check-config $? "$out"
out=$(promtool check rules $D/synfin-rules.yml 2>&1); result promtool-check-rules $? "$out"
out=$(cd $D && promtool test rules synfin-rules.test.yml 2>&1); result promtool-test-rules $? "$out"
# The unit as `make install` puts it: its ExecStart follows BINDIR. It is
# verified against this host's systemd with the viewer at a stand-in path
# (the unit names the installed one).
make -s install-unit DESTDIR=$W/root BINDIR=$W/bin >/dev/null 2>&1
mkdir -p $W/bin && printf '#!/bin/sh\n' >$W/bin/synfin && chmod +x $W/bin/synfin
unit=$(find $W/root -name synfin-exporter.service | head -1)
[ -n "$unit" ]; result unit-installed $? "make install-unit put no synfin-exporter.service under the DESTDIR"
if [ -n "$unit" ]; then
	grep -q "^ExecStart=$W/bin/synfin metrics --listen" "$unit"
	result unit-execstart-is-bindir $? "$(grep ExecStart "$unit")"
	if command -v systemd-analyze >/dev/null; then
		out=$(systemd-analyze verify --man=no "$unit" 2>&1)
		[ -z "$out" ]; result systemd-analyze-verify $? "$out"
	else
		echo "SKIP systemd-analyze-verify: no systemd-analyze (apt-get install systemd)"
	fi
fi
