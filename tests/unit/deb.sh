#!/bin/bash
# The Debian packages, built and installed for real (host part of make
# check; needs root): `make deb` builds synfin and synfin-dkms, lintian
# clean but for the overrides debian/ explains; in a fresh Debian 12 root
# (mmdebstrap, with linux-headers-amd64), `apt install ./synfin*.deb`
# builds the module with DKMS for that root's kernel headers and installs
# the viewer, man page, udev rule and the exporter's unit (not enabled);
# `apt remove` then leaves nothing behind: the root's files are as they were
# before the install (but for the indexes depmod and ldconfig rebuild,
# which must not name synfin).
# One result line per check, like viewer.sh.
cd "$(dirname "$0")/../.." || exit 1
REPO=$(pwd)
result() { if [ "$2" -eq 0 ]; then echo "PASS $1"; else echo "FAIL $1"; [ -n "${3:-}" ] && echo "$3" | sed 's/^/#   /'; fi; }
CHECKS="deb-build deb-install-dkms-module deb-install-files deb-viewer-runs deb-unit-not-enabled deb-remove-leaves-nothing"
if [ "$(id -u)" -ne 0 ]; then
	for c in $CHECKS; do echo "SKIP $c: needs root (mmdebstrap, chroot)"; done
	exit 0
fi
DIR=$REPO/.cache/deb-test
ROOT=$DIR/root
mkdir -p "$DIR"
rm -rf --one-file-system "$ROOT"
trap 'rm -rf --one-file-system "$ROOT"' EXIT

out=$(scripts/make-deb 2>&1); rc=$?
result deb-build $rc "$(echo "$out" | tail -20)"
V=$(dpkg-parsechangelog -l debian/changelog -S Version)
debs=".cache/deb/synfin_${V}_amd64.deb .cache/deb/synfin-dkms_${V}_all.deb"
if [ $rc -ne 0 ]; then
	for c in ${CHECKS#deb-build }; do echo "FAIL $c (no packages)"; done
	exit 0
fi
for d in $debs; do echo "# $(basename $d): $(dpkg-deb -c $d | awk '$1 !~ /^d/ {print $6}' | tr '\n' ' ')"; done

scripts/apt-need --why "the packages' install test" mmdebstrap || exit 1
{ read -r mirror; read -r security; } < <(scripts/debian-mirror)
t0=$SECONDS
mmdebstrap --variant=apt --include=linux-headers-amd64,ca-certificates bookworm "$ROOT" \
	"deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
	"deb $security bookworm-security main" >"$DIR/mmdebstrap.log" 2>&1 ||
	{ tail -20 "$DIR/mmdebstrap.log"; for c in ${CHECKS#deb-build }; do echo "FAIL $c (mmdebstrap failed)"; done; exit 0; }
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null
KVER=$(ls "$ROOT/lib/modules" | head -1)
echo "# a fresh root with the headers of $KVER in $((SECONDS - t0)) s"
in_root() { scripts/in-root "$ROOT" / "$1"; }
# Every file but the package manager's own state and caches.
files() {
	(cd "$ROOT" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./tmp \
		-o -path ./run -o -path ./var/cache -o -path ./var/lib/apt -o -path ./var/lib/dpkg \
		-o -path ./var/log \) -prune -o \( -type f -o -type l \) -print | LC_ALL=C sort)
}
# What the packages depend on first (apt would pull it in with them; it
# stays after their removal), so that the root before and after the
# packages can be compared file by file.
deps=$(for d in $debs; do dpkg-deb -f $d Depends; done | tr ',' '\n' | sed 's/([^)]*)//; s/|.*//; s/ //g' | sort -u | tr '\n' ' ')
in_root "apt-get update -q && apt-get install -y -q $deps" >"$DIR/deps.log" 2>&1 ||
	{ tail -10 "$DIR/deps.log"; for c in ${CHECKS#deb-build }; do echo "FAIL $c (installing $deps failed)"; done; exit 0; }
mkdir -p "$ROOT/root/debs" && cp $debs "$ROOT/root/debs/"
files >"$DIR/before"
t0=$SECONDS
in_root "apt-get install -y -q ./root/debs/*.deb" >"$DIR/install.log" 2>&1; rc=$?
echo "# apt install (after $deps): exit $rc in $((SECONDS - t0)) s; $(grep -iE '^(Building|Installing|Running|depmod)|synfin.ko' "$DIR/install.log" | head -4 | tr '\n' ' ')"

ko=$ROOT/lib/modules/$KVER/updates/dkms/synfin.ko
[ $rc -eq 0 ] && [ -f "$ko" ] && modinfo -F vermagic "$ko" | grep -q "^$KVER "
result deb-install-dkms-module $? "exit $rc; $(ls "$ROOT"/lib/modules/*/updates/dkms/ 2>&1); $(tail -15 "$DIR/install.log")"
missing=""
for f in /usr/bin/synfin /usr/share/man/man1/synfin.1.gz /lib/udev/rules.d/60-synfin.rules \
	/lib/systemd/system/synfin-exporter.service /usr/src/synfin-$V/dkms.conf \
	/usr/src/synfin-$V/module/ring.c /usr/src/synfin-$V/include/uapi/synfin.h; do
	[ -e "$ROOT$f" ] || missing+=" $f"
done
[ -z "$missing" ]; result deb-install-files $? "missing:$missing"
out=$(in_root "synfin --version && synfin metrics --listen abc; echo rc=\$?" 2>&1)
echo "$out" | grep -q "^synfin $V (ABI" && echo "$out" | grep -q "needs \[ADDR:\]PORT" && echo "$out" | grep -q "^rc=2"
result deb-viewer-runs $? "$out"
[ ! -e "$ROOT/etc/systemd/system/multi-user.target.wants/synfin-exporter.service" ]
result deb-unit-not-enabled $? "installed enabled: $(ls -l "$ROOT"/etc/systemd/system/multi-user.target.wants/ 2>&1)"

in_root "apt-get remove -y -q synfin synfin-dkms" >"$DIR/remove.log" 2>&1; rc=$?
files >"$DIR/after"
# Not compared: the indexes depmod and ldconfig rebuild, and DKMS's own
# signing key, made at its first build of any module and kept for the next.
idx='^\./(usr/)?lib/modules/[^/]*/modules\.[a-z.]*$|^\./etc/ld\.so\.cache$|^\./var/lib/dkms/mok\.(key|pub)$'
{ LC_ALL=C comm -23 "$DIR/before" "$DIR/after" | grep -vE "$idx" | sed 's/^/gone: /'
  LC_ALL=C comm -13 "$DIR/before" "$DIR/after" | grep -vE "$idx" | sed 's/^/left: /'; } >"$DIR/diff"
named=$(grep -l synfin "$ROOT"/lib/modules/*/modules.* 2>/dev/null)
[ $rc -eq 0 ] && [ ! -s "$DIR/diff" ] && [ -z "$named" ]
result deb-remove-leaves-nothing $? "exit $rc; differs from before the install: $(head -20 "$DIR/diff" | tr '\n' ' '); indexes naming synfin: $named $(tail -5 "$DIR/remove.log")"
