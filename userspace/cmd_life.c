// SPDX-License-Identifier: GPL-2.0
#include "viewer.h"

int cmd_life(const struct options *opt)
{
	(void)opt;
	report_error("life: not built yet");
	return EXIT_RUNTIME;
}
