#!/bin/bash
# Packaging, on the host (no module load needed): `make install` into a
# DESTDIR puts the module, viewer, man page, udev rule and the exporter's
# unit in place and
# `make uninstall` takes them all away; a DKMS build of the module against
# Debian's installed 6.1 headers, in private DKMS trees (the system's DKMS
# state is not touched). One result line per check, like viewer.sh.
cd "$(dirname "$0")/../.." || exit 1
W=$(mktemp -d)
trap 'rm -rf $W' EXIT
result() { if [ "$2" -eq 0 ]; then echo "PASS $1"; else echo "FAIL $1"; [ -n "${3:-}" ] && echo "$3" | sed 's/^/#   /'; fi; }
KVER=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null | sed -n 's/.*linux-headers-\([0-9][^ ,]*-amd64\).*/\1/p')
KDIR=/usr/src/linux-headers-$KVER
if [ -z "$KVER" ] || [ ! -d "$KDIR" ]; then
	echo "SKIP install: no Debian linux-headers-amd64 installed"
	echo "SKIP dkms-build: no Debian linux-headers-amd64 installed"
	exit 0
fi
# Build in a copy: the checkout's tree stays free of kernel build files.
mkdir -p $W/src && cp -a Kbuild Makefile dkms.conf include module userspace docs dist $W/src/
make -s -C $W/src clean >/dev/null 2>&1
make -s -C $W/src install DESTDIR=$W/root KDIR=$KDIR >$W/install.log 2>&1
find $W/root -type f | sed "s|$W/root||" | sort >$W/files
want="/etc/udev/rules.d/60-synfin.rules
/lib/modules/$KVER/extra/synfin.ko
/usr/local/bin/synfin
/usr/local/lib/systemd/system/synfin-exporter.service
/usr/local/share/man/man1/synfin.1"
[ "$(cat $W/files)" = "$want" ]
result install $? "installed: $(cat $W/files) $(tail -3 $W/install.log)"
modinfo -F vermagic $W/root/lib/modules/$KVER/extra/synfin.ko 2>/dev/null | grep -q "^$KVER "
result install-module-for-$KVER $? "$(modinfo -F vermagic $W/root/lib/modules/$KVER/extra/synfin.ko 2>&1)"
make -s -C $W/src uninstall DESTDIR=$W/root >/dev/null 2>&1
left=$(find $W/root -type f)
[ -z "$left" ]; result uninstall $? "left behind: $left"
if ! command -v dkms >/dev/null; then
	echo "SKIP dkms-build: dkms not installed (apt-get install dkms)"
	exit 0
fi
V=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
mkdir -p $W/dkms/src/synfin-$V $W/dkms/tree $W/dkms/install
cp -a Kbuild dkms.conf include module $W/dkms/src/synfin-$V/
rm -f $W/dkms/src/synfin-$V/module/*.o $W/dkms/src/synfin-$V/module/*.ko
D="dkms --dkmstree $W/dkms/tree --sourcetree $W/dkms/src --installtree $W/dkms/install"
$D add -m synfin -v $V >$W/dkms.log 2>&1 &&
	$D build -m synfin -v $V -k $KVER >>$W/dkms.log 2>&1
rc=$?
ko=$(find $W/dkms/tree -name synfin.ko | head -1)
[ $rc -eq 0 ] && [ -n "$ko" ] && modinfo -F vermagic "$ko" | grep -q "^$KVER "
result dkms-build $? "$(tail -15 $W/dkms.log)"
