/* marker.h: the marker of an active chair: a file in the state directory that exists while the chair is
 * active, so that a chaird that finds it at start knows it ended uncleanly. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Writes the marker (atomically, creating state_dir), saying since when and which program (NULL: none). */
int marker_set(const char *state_dir, const char *program_id);
/* Removes it; 0 when it was not there. */
int marker_clear(const char *state_dir);
/* Whether it was left behind; ret_what gets its text. */
bool marker_found(const char *state_dir, char *ret_what, size_t size);
