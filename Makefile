# SPDX-License-Identifier: GPL-2.0
# synfin: kernel module (module/), viewer (userspace/), VM lab (scripts/).
#
#   make            module + viewer for the running kernel (KDIR to override)
#   make lab        build, boot the lab VM, load the module, show live events
#   make check      host tests + VM tests (see tests/run)

KDIR ?= /lib/modules/$(shell uname -r)/build
PWD  := $(shell pwd)

.PHONY: all module viewer tools check check-host check-vm lab bench-tw clean

all: module viewer

module:
	$(MAKE) -C $(KDIR) M=$(PWD) modules

viewer:
	$(MAKE) -C userspace

tools:
	$(MAKE) -C tests/tools

# The host part needs no kernel; the VM part boots Debian's kernel in QEMU.
check: viewer tools
	tests/run

check-host: viewer tools
	tests/run --host-only

check-vm: viewer tools
	tests/run --vm-only

lab: viewer tools
	scripts/lab demo

# TIME_WAIT count read time vs ss and sockstat, 100 to 100k sockets (VM)
bench-tw: viewer tools
	scripts/bench-tw

clean:
	-$(MAKE) -C $(KDIR) M=$(PWD) clean 2>/dev/null
	$(MAKE) -C userspace clean
	$(MAKE) -C tests/tools clean
