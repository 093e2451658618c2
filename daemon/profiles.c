/* profiles.c: the profiles, one file each in the state directory, in memory by name, written off the
 * loop. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"
#include "log.h"
#include "profiles.h"
#include "util.h"
#include "writer.h"

#define PROFILE_HEADER "# chaird profile 1\n"

/* A profile and the file that keeps it (its own allocation: the file's format callback holds it). */
struct slot {
        struct profiles *owner;
        struct profile profile;
        struct saved_file *file;
        bool leaving;   /* deleted while its file was being written: freed once that write has ended */
        int last_error; /* of the last write that ended, for a wait that comes after it */
};

/* Someone waiting for what was asked of a profile to reach the disk (profiles_wait). */
struct waiter {
        struct slot *slot; /* its file's write; NULL: the folder's sync after a removal */
        /* The write or sync it waits for; UINT64_MAX: a leaving slot's end, then a sync. */
        uint64_t generation;
        profiles_done_t done;
        void *userdata;
};

struct profiles {
        sd_event *event;
        int state_fd; /* the state directory (a copy), and the profiles folder inside it (-1: none) */
        int dir_fd;
        int dir_error;       /* why there is no folder: -ELOOP for a link in its place, ... */
        char *dir;           /* for messages */
        struct slot **slots; /* by name */
        size_t n, max;
        int shoulder_offset_max; /* a file's, mm either way */
        /* Deleted profiles whose write was under way: the loop never waits for a thread, so they stay
         * (out of sight) until it ends, and their file is removed once more then (the write's rename brought
         * it back). A new profile of the same name takes its slot back, so that its writes stay in order. */
        struct slot **leaving;
        size_t n_leaving;
        sd_event_source *reap;   /* frees the leaving slots whose write ended, off their writer's callback */
        struct writer *dir_sync; /* the folder synced off the loop after a removal, and whether once more */
        bool dir_sync_again;
        uint64_t dir_asked,
                dir_syncing; /* generations of the folder's syncs: the last asked, the one under way */
        int dir_sync_error;  /* of the last sync: -errno, or 0 once one reached the disk */
        struct waiter *waiters;
        size_t n_waiters;
};

bool profile_name_is_valid(const char *name)
{
        return name[0] != '-' && name_is_valid(name, PROFILE_NAME_MAX);
}

int profile_shoulder_offset_max(const struct chair_config *c)
{
        const struct roller_geometry *g = &c->roller.geometry;

        return (int) floor(g->shoulder_max_mm - g->shoulder_min_mm);
}

const struct profile_position *profile_position(const struct profile *p, const char *name)
{
        for (size_t i = 0; i < p->n_positions; i++)
                if (streq(p->positions[i].name, name))
                        return &p->positions[i];
        return NULL;
}

int profile_format(const struct profile *p, char **ret_text, size_t *ret_size)
{
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                return -ENOMEM;
        fputs(PROFILE_HEADER, f);
        if (p->n_favourites > 0) {
                fputs("favourites", f);
                for (size_t i = 0; i < p->n_favourites; i++)
                        fprintf(f, " %s", p->favourites[i]);
                fputc('\n', f);
        }
        if (p->intensity)
                fprintf(f, "intensity %u\n", p->intensity);
        if (p->has_heat) {
                fputs("heat", f);
                for (size_t i = 0; i < p->n_heat; i++)
                        fprintf(f, " %s %u", p->heat[i].zone, p->heat[i].level);
                fputc('\n', f);
        }
        if (p->has_shoulder_offset)
                fprintf(f, "shoulder-offset %d\n", p->shoulder_offset_mm);
        if (p->program[0])
                fprintf(f, "program %s\n", p->program);
        for (size_t i = 0; i < p->n_positions; i++) {
                fprintf(f, "position %s", p->positions[i].name);
                for (int a = 0; a < _AXIS_MAX; a++)
                        if (p->positions[i].has[a])
                                fprintf(f, " %s %.4f", axis_to_string(a), p->positions[i].axis[a]);
                fputc('\n', f);
        }
        if (fclose(f) != 0) {
                free(text);
                return -ENOMEM;
        }
        *ret_text = text;
        *ret_size = size;
        return 0;
}

/* --- reading a file --- */

struct reader {
        char *why;
        size_t why_size;
        unsigned line;
        int shoulder_offset_max;
};

_printf_(2, 3) static int bad(struct reader *rd, const char *format, ...)
{
        char msg[256];
        va_list ap;

        va_start(ap, format);
        vsnprintf(msg, sizeof(msg), format, ap);
        va_end(ap);
        snprintf(rd->why, rd->why_size, "%u: %s", rd->line, msg);
        return -EINVAL;
}

bool profile_zone_is_valid(const char *zone)
{
        size_t n = strlen(zone);

        if (n == 0 || n > PROFILE_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isgraph((unsigned char) zone[i]))
                        return false;
        return true;
}

static int take_name(struct reader *rd, const char *word, char dest[PROFILE_NAME_MAX + 1], const char *what)
{
        if (!profile_name_is_valid(word))
                return bad(rd, "%s '%.64s' is not a name ([a-z0-9-], at most 64)", what, word);
        strcpy(dest, word);
        return 0;
}

static int take_uint(struct reader *rd, const char *word, unsigned max, unsigned *ret, const char *what)
{
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(word, &end, 10);
        if (word[0] < '0' || word[0] > '9' || *end || errno || v > max)
                return bad(rd, "%s '%.32s' is not a number from 0 to %u", what, word, max);
        *ret = (unsigned) v;
        return 0;
}

static int read_line(struct reader *rd, char *line, struct profile *p, unsigned *seen)
{
        char *words[2 + 2 * PROFILE_FAVOURITES_MAX], *save = NULL;
        size_t n = 0;
        int r = 0;

        for (char *w = strtok_r(line, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
                if (n == ELEMENTSOF(words))
                        return bad(rd, "too many words");
                words[n++] = w;
        }
        if (n == 0)
                return bad(rd, "an empty line");
        static const char *const keys[] = {"favourites", "intensity",       "heat",
                                           "program",    "shoulder-offset", NULL};
        for (unsigned k = 0; keys[k]; k++)
                if (streq(words[0], keys[k])) {
                        if (*seen & (1u << k))
                                return bad(rd, "%s given twice", keys[k]);
                        *seen |= 1u << k;
                }
        if (streq(words[0], "favourites")) {
                if (n - 1 > PROFILE_FAVOURITES_MAX)
                        return bad(rd, "more than %d favourites", PROFILE_FAVOURITES_MAX);
                for (size_t i = 1; i < n && r >= 0; i++)
                        r = take_name(rd, words[i], p->favourites[p->n_favourites++], "favourite");
        } else if (streq(words[0], "intensity")) {
                if (n != 2)
                        return bad(rd, "intensity takes one number");
                r = take_uint(rd, words[1], INTENSITY_MAX, &p->intensity, "intensity");
                if (r >= 0 && p->intensity < INTENSITY_MIN)
                        return bad(rd, "intensity 0: leave the line out for none");
        } else if (streq(words[0], "heat")) {
                if (n % 2 != 1 || (n - 1) / 2 > PROFILE_HEAT_MAX)
                        return bad(rd, "heat takes zone and level pairs (at most %d)", PROFILE_HEAT_MAX);
                p->has_heat = true;
                for (size_t i = 1; i < n && r >= 0; i += 2) {
                        /* A zone is named as the config names it: any word. */
                        if (!profile_zone_is_valid(words[i]))
                                return bad(rd, "heat zone '%.64s' is not a word of at most %d", words[i],
                                           PROFILE_NAME_MAX);
                        for (size_t k = 0; k < p->n_heat; k++)
                                if (streq(p->heat[k].zone, words[i]))
                                        return bad(rd, "heat zone %s given twice", words[i]);
                        strcpy(p->heat[p->n_heat].zone, words[i]);
                        if (r >= 0)
                                r = take_uint(rd, words[i + 1], HEAT_LEVELS, &p->heat[p->n_heat++].level,
                                              "heat level");
                }
        } else if (streq(words[0], "program")) {
                if (n != 2)
                        return bad(rd, "program takes one id");
                r = take_name(rd, words[1], p->program, "program");
        } else if (streq(words[0], "shoulder-offset")) {
                char *end;
                long v;
                if (n != 2)
                        return bad(rd, "shoulder-offset takes one number (mm)");
                errno = 0;
                v = strtol(words[1], &end, 10);
                if (*end || errno || v < -rd->shoulder_offset_max || v > rd->shoulder_offset_max)
                        return bad(
                                rd,
                                "shoulder-offset '%.32s' is not a number of mm from -%d to %d (the chair's "
                                "shoulder range)",
                                words[1], rd->shoulder_offset_max, rd->shoulder_offset_max);
                p->has_shoulder_offset = true;
                p->shoulder_offset_mm = (int) v;
        } else if (streq(words[0], "position")) {
                struct profile_position *pos;
                if (p->n_positions == PROFILE_POSITIONS_MAX)
                        return bad(rd, "more than %d positions", PROFILE_POSITIONS_MAX);
                if (n < 4 || n % 2 != 0)
                        return bad(rd, "position takes a name, then axis and position pairs");
                pos = &p->positions[p->n_positions];
                r = take_name(rd, words[1], pos->name, "position");
                if (r >= 0 && profile_position(p, pos->name))
                        return bad(rd, "position %s given twice", pos->name);
                for (size_t i = 2; i < n && r >= 0; i += 2) {
                        int a = axis_from_string(words[i]);
                        char *end;
                        double v;
                        if (a < 0)
                                return bad(rd, "unknown axis '%.32s' (backrest, legrest, slide)", words[i]);
                        if (pos->has[a])
                                return bad(rd, "%s given twice", words[i]);
                        errno = 0;
                        v = strtod(words[i + 1], &end);
                        if (*end || errno || !isfinite(v) || v < 0.0 || v > 1.0)
                                return bad(rd, "%s '%.32s' is not a position from 0.0 to 1.0", words[i],
                                           words[i + 1]);
                        pos->has[a] = true;
                        pos->axis[a] = v;
                }
                if (r >= 0)
                        p->n_positions++;
        } else
                return bad(rd, "unknown key '%.32s'", words[0]);
        return r;
}

int profile_parse(const char *name, const char *text, size_t size, int shoulder_offset_max,
                  struct profile *ret, char *why, size_t why_size)
{
        struct reader rd = {.why = why, .why_size = why_size, .shoulder_offset_max = shoulder_offset_max};
        struct profile p = {};
        unsigned seen = 0;
        int r;

        if (!profile_name_is_valid(name))
                return bad(&rd, "'%.64s' is not a profile name", name);
        strcpy(p.name, name);
        rd.line = 1;
        if (size > PROFILE_FILE_MAX)
                return bad(&rd, "longer than %d bytes", PROFILE_FILE_MAX);
        if (strlen(text) != size)
                return bad(&rd, "a NUL byte: not a text file");
        /* The first line says what the file is and in which version of the format (an empty file is a cut
         * or a mistake, not a profile). */
        if (strncmp(text, PROFILE_HEADER, strlen(PROFILE_HEADER)) != 0)
                return bad(&rd, "not a chaird profile: the first line must be '%.*s'",
                           (int) strlen(PROFILE_HEADER) - 1, PROFILE_HEADER);
        rd.line = 0;
        for (const char *at = text; *at;) {
                const char *nl = strchr(at, '\n');
                char line[PROFILE_FILE_MAX + 1];
                size_t len;

                rd.line++;
                if (!nl)
                        return bad(&rd, "cut short (no end of line)");
                len = (size_t) (nl - at);
                memcpy(line, at, len);
                line[len] = '\0';
                at = nl + 1;
                if (line[0] == '#')
                        continue;
                r = read_line(&rd, line, &p, &seen);
                if (r < 0)
                        return r;
        }
        *ret = p;
        return 0;
}

/* --- the store --- */

static int slot_format(void *userdata, char **ret_data, size_t *ret_size)
{
        struct slot *s = userdata;
        return profile_format(&s->profile, ret_data, ret_size);
}

/* Calls (and forgets) the waiters that match: of slot (NULL: the folder's), up to generation. */
static void answer(struct profiles *ps, struct slot *slot, uint64_t generation, int result, const char *path)
{
        for (size_t i = 0; i < ps->n_waiters;) {
                struct waiter w = ps->waiters[i];
                if (w.slot != slot || w.generation > generation) {
                        i++;
                        continue;
                }
                ps->waiters[i] = ps->waiters[--ps->n_waiters];
                w.done(result, path, w.userdata);
        }
}

/* The waiters for a leaving slot's removal (generation UINT64_MAX): answered ok, the delete done. */
static void answer_removal(struct profiles *ps, struct slot *s)
{
        for (size_t i = 0; i < ps->n_waiters;) {
                struct waiter w = ps->waiters[i];
                if (w.slot != s || w.generation != UINT64_MAX) {
                        i++;
                        continue;
                }
                ps->waiters[i] = ps->waiters[--ps->n_waiters];
                w.done(0, ps->dir, w.userdata);
        }
}

static int add_waiter(struct profiles *ps, struct slot *slot, uint64_t generation, profiles_done_t done,
                      void *userdata)
{
        struct waiter *l = reallocarray(ps->waiters, ps->n_waiters + 1, sizeof(*l));

        if (!l)
                return -ENOMEM;
        ps->waiters = l;
        ps->waiters[ps->n_waiters++] = (struct waiter){slot, generation, done, userdata};
        return 0;
}

static void sync_dir(struct profiles *ps);

static void slot_written(struct saved_file *f, int result, uint64_t generation, void *userdata)
{
        struct slot *s = userdata;
        struct profiles *ps = s->owner;

        s->last_error = result < 0 ? result : 0;
        if (result < 0 && !s->leaving)
                log_warning_errno(result, "Cannot write the profile %s: %m", saved_file_path(f));
        if (!s->leaving) {
                /* A failure is not written again until the next save: whoever waits hears of it now. */
                answer(ps, s, result < 0 ? UINT64_MAX : generation, result, saved_file_path(f));
                return;
        }
        /* Deleted meanwhile: what this write renamed into place goes again, and the slot once off this
         * callback (the saved file still reads itself after it). */
        if (result >= 0 && unlinkat(ps->dir_fd, saved_file_name(f), 0) < 0 && errno != ENOENT)
                log_warning_errno(-errno, "Cannot remove the profile %s: %m", saved_file_path(f));
        /* Whoever waits for the removal waits for the folder's sync now (moved first: a sync that cannot
         * start answers them at once). */
        for (size_t i = 0; i < ps->n_waiters; i++)
                if (ps->waiters[i].slot == s)
                        ps->waiters[i] = (struct waiter){NULL, ps->dir_asked + 1, ps->waiters[i].done,
                                                         ps->waiters[i].userdata};
        sync_dir(ps);
        (void) sd_event_source_set_enabled(ps->reap, SD_EVENT_ONESHOT);
}

static struct slot *slot_free(struct slot *s, bool flush)
{
        if (!s)
                return NULL;
        if (flush)
                saved_file_free(s->file);
        else
                saved_file_discard(s->file);
        answer(s->owner, s, UINT64_MAX, -ECANCELED, s->profile.name);
        free(s);
        return NULL;
}

static int on_reap(sd_event_source *source, void *userdata)
{
        struct profiles *ps = userdata;
        size_t kept = 0;

        for (size_t i = 0; i < ps->n_leaving; i++) {
                struct slot *s = ps->leaving[i];
                if (saved_file_busy(s->file))
                        ps->leaving[kept++] = s;
                else
                        slot_free(s, false);
        }
        ps->n_leaving = kept;
        return 0;
}

static void dir_synced(struct writer *w, int result, void *userdata)
{
        struct profiles *ps = userdata;

        ps->dir_sync = writer_free(w);
        ps->dir_sync_error = result < 0 ? result : 0;
        if (result < 0)
                log_warning_errno(result, "Cannot sync %s after a removal: %m", ps->dir);
        answer(ps, NULL, result < 0 ? UINT64_MAX : ps->dir_syncing, result, ps->dir);
        if (ps->dir_sync_again) {
                ps->dir_sync_again = false;
                sync_dir(ps);
        }
}

/* A removal is on the disk once the folder is synced: off the loop, as every write. */
static void sync_dir(struct profiles *ps)
{
        int r;

        ps->dir_asked++;
        if (ps->dir_sync) {
                ps->dir_sync_again = true;
                return;
        }
        ps->dir_syncing = ps->dir_asked;
        r = writer_sync(ps->event, ps->dir_fd, dir_synced, ps, &ps->dir_sync);
        if (r < 0) {
                ps->dir_sync_error = r;
                log_warning_errno(r, "Cannot sync %s: %m", ps->dir);
                answer(ps, NULL, UINT64_MAX, r, ps->dir);
        }
}

/* The profiles folder, made if missing: -errno (a link in its place is refused, not followed). */
static int open_dir(struct profiles *ps)
{
        if (ps->dir_fd >= 0)
                return 0;
        if (ps->state_fd < 0)
                return -EBADF;
        ps->dir_fd = dir_open_at(ps->state_fd, PROFILES_DIR, true);
        if (ps->dir_fd >= 0)
                return 0;
        ps->dir_error = ps->dir_fd;
        ps->dir_fd = -1;
        return ps->dir_error;
}

static int slot_new(struct profiles *ps, const struct profile *p, struct slot **ret)
{
        struct slot *s = calloc(1, sizeof(*s));
        int r;

        if (!s)
                return -ENOMEM;
        s->owner = ps;
        s->profile = *p;
        r = saved_file_new(ps->event, ps->dir_fd, ps->dir, p->name, 0644, slot_format, slot_written, s,
                           &s->file);
        if (r < 0) {
                free(s);
                return r;
        }
        *ret = s;
        return 0;
}

static int by_name(const void *a, const void *b)
{
        const struct slot *const *x = a, *const *y = b;
        return strcmp((*x)->profile.name, (*y)->profile.name);
}

/* Reads one file; a broken or odd one is set aside as NAME.broken. */
static int load_one(struct profiles *ps, const char *name)
{
        _cleanup_free_ char *text = NULL;
        struct profile p;
        char why[320];
        struct slot *s;
        int r;

        r = read_file_at(ps->dir_fd, name, PROFILE_FILE_MAX, &text);
        if (r == -FILE_TOO_LARGE)
                snprintf(why, sizeof(why), "1: longer than %d bytes", PROFILE_FILE_MAX);
        else if (file_error_is_odd(r))
                snprintf(why, sizeof(why), " %s", file_error_words(r));
        else if (r < 0) {
                log_warning_errno(r, "Cannot read the profile %s/%s: %m; left out", ps->dir, name);
                return 0;
        } else
                r = profile_parse(name, text, (size_t) r, ps->shoulder_offset_max, &p, why, sizeof(why));
        if (r < 0) {
                bool aside = file_set_aside(ps->dir_fd, name) >= 0;
                log_warning("%s/%s:%s; %s %s.broken", ps->dir, name, why,
                            aside ? "set aside as" : "it cannot be set aside either as", name);
                return 0;
        }
        if (ps->n == ps->max) {
                log_warning("%s/%s: more profiles than sessions.profiles (%zu); left out", ps->dir, name,
                            ps->max);
                return 0;
        }
        r = slot_new(ps, &p, &s);
        if (r < 0)
                return r;
        ps->slots[ps->n++] = s;
        return 0;
}

int profiles_new(sd_event *event, int state_fd, const char *state_dir, unsigned max, int shoulder_offset_max,
                 struct profiles **ret)
{
        _cleanup_(profiles_freep) struct profiles *ps = calloc(1, sizeof(*ps));
        _cleanup_free_ struct dirent **names = NULL;
        int n, r = 0;

        if (!ps)
                return -ENOMEM;
        ps->event = sd_event_ref(event);
        ps->state_fd = ps->dir_fd = -1;
        ps->max = max ?: 1;
        ps->shoulder_offset_max = shoulder_offset_max;
        r = sd_event_add_defer(event, &ps->reap, on_reap, ps);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(ps->reap, SD_EVENT_OFF);
        ps->slots = calloc(ps->max, sizeof(*ps->slots));
        if (!ps->slots || asprintf(&ps->dir, "%s/%s", state_dir, PROFILES_DIR) < 0) {
                ps->dir = NULL;
                return -ENOMEM;
        }
        if (state_fd >= 0)
                ps->state_fd = fcntl(state_fd, F_DUPFD_CLOEXEC, 3);
        r = open_dir(ps);
        if (r < 0) {
                log_warning("The profiles folder %s: %s; there are no profiles, and none can be saved",
                            ps->dir, file_error_words(r));
                *ret = TAKE_PTR(ps);
                return 0;
        }
        n = remove_atomic_temps(ps->dir_fd);
        if (n > 0)
                log_info("%s: %d temporary file%s left by writes that were cut short; removed", ps->dir, n,
                         n == 1 ? "" : "s");
        n = scandirat(ps->dir_fd, ".", &names, NULL, alphasort);
        if (n < 0)
                log_warning_errno(-errno, "Cannot read the profiles in %s: %m; there are none", ps->dir);
        r = 0;
        for (int i = 0; i < n; i++) {
                /* Profile names only: not NAME.broken, nor what a write left (removed above). */
                if (r >= 0 && profile_name_is_valid(names[i]->d_name))
                        r = load_one(ps, names[i]->d_name);
                free(names[i]);
        }
        if (r < 0)
                return r;
        qsort(ps->slots, ps->n, sizeof(*ps->slots), by_name);
        *ret = TAKE_PTR(ps);
        return 0;
}

struct profiles *profiles_free(struct profiles *ps)
{
        if (!ps)
                return NULL;
        for (size_t i = 0; i < ps->n; i++)
                slot_free(ps->slots[i], true);
        free(ps->slots);
        /* At exit the loop may wait: the writes of deleted profiles end, and their files go again. */
        for (size_t i = 0; i < ps->n_leaving; i++) {
                _cleanup_free_ char *name = strdup(saved_file_name(ps->leaving[i]->file));
                slot_free(ps->leaving[i], false);
                if (name && unlinkat(ps->dir_fd, name, 0) < 0 && errno != ENOENT)
                        log_warning_errno(-errno, "Cannot remove the profile %s/%s: %m", ps->dir, name);
        }
        free(ps->leaving);
        ps->dir_sync = writer_free(ps->dir_sync);
        answer(ps, NULL, UINT64_MAX, -ECANCELED, ps->dir);
        free(ps->waiters);
        sd_event_source_disable_unref(ps->reap);
        if (ps->dir_fd >= 0)
                close(ps->dir_fd);
        if (ps->state_fd >= 0)
                close(ps->state_fd);
        free(ps->dir);
        sd_event_unref(ps->event);
        free(ps);
        return NULL;
}

const char *profiles_dir(const struct profiles *ps)
{
        return ps->dir;
}

size_t profiles_count(const struct profiles *ps)
{
        return ps->n;
}

const struct profile *profiles_get(const struct profiles *ps, size_t i)
{
        return i < ps->n ? &ps->slots[i]->profile : NULL;
}

static ssize_t find(const struct profiles *ps, const char *name)
{
        for (size_t i = 0; i < ps->n; i++)
                if (streq(ps->slots[i]->profile.name, name))
                        return (ssize_t) i;
        return -1;
}

const struct profile *profiles_find(const struct profiles *ps, const char *name)
{
        ssize_t i = find(ps, name);
        return i < 0 ? NULL : &ps->slots[i]->profile;
}

int profiles_put(struct profiles *ps, const struct profile *p)
{
        ssize_t i = find(ps, p->name);
        struct slot *s;
        int r;

        /* Without a folder a profile cannot be kept: refused, and the caller hears why. */
        r = open_dir(ps);
        if (r < 0)
                return r;
        if (i >= 0) {
                s = ps->slots[i];
                s->profile = *p;
        } else {
                if (ps->n == ps->max)
                        return -E2BIG;
                s = NULL;
                for (size_t k = 0; k < ps->n_leaving && !s; k++)
                        if (streq(ps->leaving[k]->profile.name, p->name)) {
                                /* Deleted while its write is under way: back, its next write after that
                                 * one. */
                                s = ps->leaving[k];
                                ps->leaving[k] = ps->leaving[--ps->n_leaving];
                                s->leaving = false;
                                s->profile = *p;
                                /* Whoever waited for its removal hears now: a new save took its place. */
                                answer_removal(ps, s);
                        }
                if (!s) {
                        r = slot_new(ps, p, &s);
                        if (r < 0)
                                return r;
                }
                ps->slots[ps->n++] = s;
                qsort(ps->slots, ps->n, sizeof(*ps->slots), by_name);
        }
        saved_file_save(s->file);
        return 0;
}

int profiles_delete(struct profiles *ps, const char *name)
{
        ssize_t i = find(ps, name);
        struct slot *s;

        if (i < 0)
                return -ENOENT;
        s = ps->slots[i];
        /* The file first: a profile that cannot be removed stays, and the caller hears why. */
        if (unlinkat(ps->dir_fd, name, 0) < 0 && errno != ENOENT)
                return -errno;
        if (saved_file_busy(s->file)) {
                struct slot **l = reallocarray(ps->leaving, ps->n_leaving + 1, sizeof(*l));
                if (!l)
                        return -ENOMEM; /* the file is gone; the next save writes it again */
                ps->leaving = l;
                saved_file_drop(s->file);
                s->leaving = true;
                ps->leaving[ps->n_leaving++] = s;
        } else
                slot_free(s, false);
        memmove(ps->slots + i, ps->slots + i + 1, (ps->n - (size_t) i - 1) * sizeof(*ps->slots));
        ps->n--;
        sync_dir(ps);
        return 0;
}

int profiles_wait(struct profiles *ps, const char *name, profiles_done_t done, void *userdata)
{
        ssize_t i = find(ps, name);

        if (i >= 0) {
                struct slot *s = ps->slots[i];
                if (!saved_file_pending(s->file))
                        return 1;
                if (!saved_file_busy(s->file))
                        return s->last_error < 0 ? s->last_error : -EIO; /* failed, and not tried again */
                return add_waiter(ps, s, saved_file_asked(s->file), done, userdata);
        }
        for (size_t k = 0; k < ps->n_leaving; k++)
                if (streq(ps->leaving[k]->profile.name, name))
                        return add_waiter(ps, ps->leaving[k], UINT64_MAX, done, userdata);
        if (ps->dir_sync)
                return add_waiter(ps, NULL, ps->dir_asked, done, userdata);
        /* Gone, and no sync under way: on the disk, unless the last sync failed. */
        return ps->dir_sync_error < 0 ? ps->dir_sync_error : 1;
}

void profiles_unwait(struct profiles *ps, void *userdata)
{
        for (size_t i = 0; i < ps->n_waiters;)
                if (ps->waiters[i].userdata == userdata)
                        ps->waiters[i] = ps->waiters[--ps->n_waiters];
                else
                        i++;
}

bool profiles_saving(const struct profiles *ps)
{
        for (size_t i = 0; i < ps->n; i++)
                if (saved_file_pending(ps->slots[i]->file))
                        return true;
        return ps->n_leaving > 0 || ps->dir_sync;
}
