/* marker.h: the marker of an active chair: a file in the state directory that exists while the chair is
 * active, so that a chaird that finds it at start knows it ended uncleanly. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Each works inside dir_fd, the state directory, which state_dir names in the journal. */

/* Writes the marker (atomically), saying since when and which program (NULL: none). */
int marker_set(int dir_fd, const char *state_dir, const char *program_id);
/* Removes it; 0 when it was not there. */
int marker_clear(int dir_fd, const char *state_dir);
/* Whether it was left behind (or something odd is in its place, which is set aside); ret_what gets its
 * text. */
bool marker_found(int dir_fd, const char *state_dir, char *ret_what, size_t size);
