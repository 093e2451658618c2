/* positions.h: the positions of the motors that keep their own (relay pairs), saved in the state directory
 * whenever they stand still, so that a clean restart knows where they are without homing them. */
#pragma once

#include <stddef.h>

#include "chair.h"

#define POSITIONS_FILE     "positions" /* in the state directory */
#define POSITIONS_FILE_MAX 4096        /* a line per motor; a larger file is not chaird's */
/* "name position" lines of every motor whose position is known and still; the length, or -ENOBUFS. */
int positions_format(const struct chair *c, char *buf, size_t size);
/* Gives the chair back every position the file in dir_fd (the state directory, named state_dir in the
 * journal) names: each motor once. Lines that are not a position are counted and reported once; an odd or
 * too large file is set aside. How many motors, 0 without a file, or -errno. */
int positions_restore(int dir_fd, const char *state_dir, struct chair *c);
