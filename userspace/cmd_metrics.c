// SPDX-License-Identifier: GPL-2.0
/* `synfin metrics`: placeholder, being written. */
#include "viewer.h"

int cmd_metrics(const struct options *opt)
{
	(void)opt;
	report_error("metrics: not built yet");
	return EXIT_RUNTIME;
}
