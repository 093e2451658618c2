/* usage.c: counters since install, in memory, saved whole and atomically off the loop. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "files.h"
#include "log.h"
#include "usage.h"
#include "util.h"
#include "writer.h"

#define USAGE_HEADER "# chaird usage 1: counters since install; times in microseconds\n"

struct usage {
        char names[USAGE_MAX][USAGE_NAME_MAX];
        uint64_t values[USAGE_MAX];
        size_t n;
        bool dirty; /* counted since the last save */
        struct saved_file *file;
};

static int find(const struct usage *u, const char *name)
{
        for (size_t i = 0; i < u->n; i++)
                if (streq(u->names[i], name))
                        return (int) i;
        return -ENOENT;
}

int usage_add(struct usage *u, const char *name, uint64_t amount)
{
        int i = find(u, name);

        if (i < 0) {
                if (!name_is_valid(name, USAGE_NAME_MAX - 1))
                        return -EINVAL;
                if (u->n == USAGE_MAX)
                        return -E2BIG;
                i = (int) u->n++;
                strcpy(u->names[i], name);
                u->values[i] = 0;
                u->dirty = true;
        }
        if (amount > 0)
                u->dirty = true;
        u->values[i] = amount > UINT64_MAX - u->values[i] ? UINT64_MAX : u->values[i] + amount;
        return 0;
}

static int usage_format(void *userdata, char **ret_data, size_t *ret_size)
{
        struct usage *u = userdata;
        char *data = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&data, &size);

        if (!f)
                return -ENOMEM;
        fputs(USAGE_HEADER, f);
        for (size_t i = 0; i < u->n; i++)
                fprintf(f, "%s %" PRIu64 "\n", u->names[i], u->values[i]);
        if (fclose(f) != 0) {
                free(data);
                return -ENOMEM;
        }
        *ret_data = data;
        *ret_size = size;
        return 0;
}

static void usage_written(struct saved_file *f, int result, uint64_t generation, void *userdata)
{
        if (result < 0)
                log_warning_errno(result, "Cannot write the usage counters %s: %m", saved_file_path(f));
}

/* The counters a file holds; lines that are not one are counted and reported once. */
static void load(struct usage *u, int dir_fd, const char *path)
{
        _cleanup_free_ char *text = NULL;
        unsigned number = 0, bad = 0, first_bad = 0;
        bool aside, whole, clean;
        int r = read_kept_file(dir_fd, USAGE_FILE, USAGE_FILE_MAX, &text, &aside);

        if (r == -ENOENT)
                return;
        if (r < 0) {
                log_warning("The usage counters %s: %s%s; they start at 0", path,
                            r == -FILE_TOO_LARGE ? "too large (a file of more than " STRINGIFY(
                                                           USAGE_FILE_MAX) " bytes is not chaird's)"
                                                 : file_error_words(r),
                            aside ? ", set aside as " USAGE_FILE ".broken" : "");
                return;
        }
        for (char *at = text, *line; (line = text_next_line(&at, text + r, &whole, &clean));) {
                char name[USAGE_NAME_MAX + 1], end;
                unsigned long long value;

                number++;
                if (line[0] == '#')
                        continue;
                /* "name digits": one space, no sign, nothing after; each counter once. */
                if (!whole || !clean || sscanf(line, "%48s %llu%c", name, &value, &end) != 2 ||
                    !name_is_valid(name, USAGE_NAME_MAX - 1) || line[strlen(name)] != ' ' ||
                    line[strlen(name) + 1] < '0' || line[strlen(name) + 1] > '9' || find(u, name) >= 0 ||
                    usage_add(u, name, value) < 0) {
                        if (bad++ == 0)
                                first_bad = number;
                }
        }
        log_damaged_lines(path, bad, first_bad);
}

int usage_new(sd_event *event, int dir_fd, const char *state_dir, struct usage **ret)
{
        _cleanup_(usage_freep) struct usage *u = calloc(1, sizeof(*u));
        _cleanup_free_ char *path = NULL;
        int r;

        if (!u)
                return -ENOMEM;
        if (asprintf(&path, "%s/%s", state_dir, USAGE_FILE) < 0) {
                path = NULL;
                return -ENOMEM;
        }
        if (dir_fd >= 0)
                load(u, dir_fd, path);
        r = saved_file_new(event, dir_fd, state_dir, USAGE_FILE, 0644, usage_format, usage_written, u,
                           &u->file);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(u);
        return 0;
}

struct usage *usage_free(struct usage *u)
{
        if (!u)
                return NULL;
        if (u->dirty && u->file)
                saved_file_mark(u->file); /* written once, here, by the flush before the file is let go */
        saved_file_free(u->file);
        free(u);
        return NULL;
}

void usage_save(struct usage *u)
{
        if (!u->dirty)
                return; /* nothing counted since the last save: the disk has it */
        u->dirty = false;
        saved_file_save(u->file);
}

size_t usage_count(const struct usage *u)
{
        return u->n;
}

const char *usage_name(const struct usage *u, size_t i)
{
        return i < u->n ? u->names[i] : NULL;
}

uint64_t usage_value(const struct usage *u, size_t i)
{
        return i < u->n ? u->values[i] : 0;
}

uint64_t usage_get(const struct usage *u, const char *name)
{
        int i = find(u, name);

        return i < 0 ? 0 : u->values[i];
}

bool usage_saving(const struct usage *u)
{
        return saved_file_pending(u->file);
}
