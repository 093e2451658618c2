/* usage.c: counters since install, in memory, saved whole and atomically off the loop. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

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

static void load(struct usage *u, const char *path)
{
        _cleanup_(fclosep) FILE *f = fopen(path, "re");
        char line[128];
        unsigned number = 0;

        if (!f) {
                if (errno != ENOENT)
                        log_warning_errno(-errno, "Cannot read the usage counters %s: %m; they start at 0",
                                          path);
                return;
        }
        while (fgets(line, sizeof(line), f)) {
                char name[USAGE_NAME_MAX + 1];
                unsigned long long value;
                int end = 0;

                number++;
                if (line[0] == '#')
                        continue;
                if (sscanf(line, "%48s %llu%n", name, &value, &end) != 2 || !streq(line + end, "\n") ||
                    line[strspn(line, "abcdefghijklmnopqrstuvwxyz0123456789-")] != ' ' ||
                    find(u, name) >= 0 || usage_add(u, name, value) < 0)
                        log_warning("%s:%u: not a usage counter; left out", path, number);
        }
}

int usage_new(sd_event *event, const char *state_dir, struct usage **ret)
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
        load(u, path);
        r = saved_file_new(event, path, 0644, usage_format, usage_written, u, &u->file);
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
