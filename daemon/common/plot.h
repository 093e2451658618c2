/* plot.h: a picture of a program's timeline as SVG, one lane per track: what `chairctl plot` writes and
 * chaird-web serves at /programs/ID.svg. */
#pragma once

#include <stdio.h>

#include "config.h"
#include "program.h"
#include "timeline.h"

/* Writes the picture of t (compiled from p for config) to f. config NULL: the reference chair. Returns 0 or
 * -errno. */
int plot_svg(FILE *f, const struct program *p, const struct timeline *t, const struct chair_config *config);
