/* positions.h: the positions of the motors that keep their own (relay pairs), saved in the state directory
 * whenever they stand still, so that a clean restart knows where they are without homing them. */
#pragma once

#include <stddef.h>

#include "chair.h"

/* The file, in state_dir. */
int positions_path(const char *state_dir, char *buf, size_t size);
/* "name position" lines of every motor whose position is known and still; the length, or -ENOBUFS. */
int positions_format(const struct chair *c, char *buf, size_t size);
/* Gives the chair back every position the file names; how many, 0 without a file, or -errno. */
int positions_restore(const char *path, struct chair *c);
