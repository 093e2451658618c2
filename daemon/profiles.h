/* profiles.h: a person's memory on the chair: favourite programs, preferred intensity and heat, the shoulder
 * offset, a default program, and saved recline positions ("reading", "nap").
 *
 * Each profile is a file of its own in STATE_DIR/profiles, named as the profile, written whole and
 * atomically (temporary file, fsync, rename) off the loop whenever it changes, so a power cut leaves either
 * the old or the new file, never a broken one. A file broken by hand is reported in the journal and renamed
 * to NAME.broken (set aside); the others load. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "config.h"

#define PROFILES_DIR           "profiles"
#define PROFILE_NAME_MAX       64 /* as a program id: [a-z0-9-], not starting with '-' */
#define PROFILE_FAVOURITES_MAX 32
#define PROFILE_HEAT_MAX       8
#define PROFILE_POSITIONS_MAX  16
#define PROFILE_FILE_MAX       (16 * 1024) /* a longer file is not a profile */

struct profile_position {
        char name[PROFILE_NAME_MAX + 1];
        bool has[_AXIS_MAX];
        double axis[_AXIS_MAX]; /* 0.0-1.0 as a preset's; clamped when used */
};

struct profile {
        char name[PROFILE_NAME_MAX + 1];
        char favourites[PROFILE_FAVOURITES_MAX][PROFILE_NAME_MAX + 1];
        size_t n_favourites;
        unsigned intensity; /* 1-5; 0: none */
        struct {
                char zone[PROFILE_NAME_MAX + 1];
                unsigned level; /* 0-3 */
        } heat[PROFILE_HEAT_MAX];
        size_t n_heat;
        bool has_heat;
        bool has_shoulder_offset;
        int shoulder_offset_mm;
        char program[PROFILE_NAME_MAX + 1]; /* "" for none */
        struct profile_position positions[PROFILE_POSITIONS_MAX];
        size_t n_positions;
};

struct profiles;

/* Loads the profiles in the folder PROFILES_DIR of the state directory state_fd (state_dir names it in the
 * journal; -1: none) (at most max, by name; the rest are left out with a word in the journal). The folder
 * is opened without following a link: a link in its place is refused (no profiles, and none saved). Fails
 * only for want of memory: an unreadable folder has no profiles. */
int profiles_new(sd_event *event, int state_fd, const char *state_dir, unsigned max, int shoulder_offset_max,
                 struct profiles **ret);
/* Writes what is not on the disk yet (at exit), and frees. */
struct profiles *profiles_free(struct profiles *p);
static inline void profiles_freep(struct profiles **p)
{
        profiles_free(*p);
}
size_t profiles_count(const struct profiles *p);
const char *profiles_dir(const struct profiles *p); /* the folder's path, for messages */
/* The i-th profile by name; NULL past the last. */
const struct profile *profiles_get(const struct profiles *p, size_t i);
const struct profile *profiles_find(const struct profiles *p, const char *name);
/* Adds or replaces the profile of its name, and starts writing its file. -E2BIG when a new one would pass
 * the bound, -ENOMEM, -errno when there is no folder to keep it in (-ELOOP: a link in its place). */
int profiles_put(struct profiles *p, const struct profile *profile);
/* Removes a profile and its file (the folder synced off the loop). -ENOENT when there is none of that name;
 * -errno when the file cannot be removed (the profile stays). */
int profiles_delete(struct profiles *p, const char *name);
/* Called once what was asked of a profile is on the disk (result 0), or not (-errno; path names the file or
 * folder that failed). */
typedef void (*profiles_done_t)(int result, const char *path, void *userdata);
/* Calls done once everything asked of profile name so far (its writes after a put; its removal and the
 * folder's sync after a delete) is on the disk, or failed. Returns 1 when it is already (done is not
 * called), 0 when done will be, or -errno: the last write failed and was not tried again. */
int profiles_wait(struct profiles *p, const char *name, profiles_done_t done, void *userdata);
/* Forgets every wait of userdata: done is not called for them. */
void profiles_unwait(struct profiles *p, void *userdata);
/* A write or a removal is under way or asked for, for tests. */
bool profiles_saving(const struct profiles *p);

bool profile_name_is_valid(const char *name);
/* The shoulder offset a profile keeps on chair c, mm either way: the chair's shoulder range (the body scan's
 * shoulder.min to shoulder.max). SaveProfile and the files are held to it alike. */
int profile_shoulder_offset_max(const struct chair_config *c);
/* A heat zone a profile can keep: the config's name for it, one word of at most PROFILE_NAME_MAX. */
bool profile_zone_is_valid(const char *zone);
/* The saved position of that name, or NULL. */
const struct profile_position *profile_position(const struct profile *p, const char *name);
/* A profile as its file holds it, and read back (a shoulder offset within shoulder_offset_max mm either
 * way): -EINVAL with the line and why in why (a file broken by hand). */
int profile_format(const struct profile *p, char **ret_text, size_t *ret_size);
int profile_parse(const char *name, const char *text, size_t size, int shoulder_offset_max,
                  struct profile *ret, char *why, size_t why_size);
