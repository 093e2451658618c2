/* history.c: the record of sessions and faults, bounded, written whole and atomically at each record. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>

#include "history.h"
#include "log.h"
#include "writer.h"

#define HISTORY_HEADER "# chaird history 1: start-usec duration-usec program profile reason fault\n"

struct history {
        struct history_record *records; /* oldest first */
        size_t n, max;
        struct saved_file *file;
};

/* A name of the record ("" written as "-"): program ids, profile names, reasons and faults are all of
 * [a-z0-9-], so a line splits on spaces. */
static bool name_ok(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
                        return false;
        return true;
}

static const char *dash(const char *s)
{
        return *s ? s : "-";
}

int history_format_record(const struct history_record *r, char *buf, size_t size)
{
        int n = snprintf(buf, size, "%" PRIu64 " %" PRIu64 " %s %s %s %s\n", (uint64_t) r->start_usec,
                         (uint64_t) r->duration_usec, dash(r->program), dash(r->profile), dash(r->reason),
                         dash(r->fault));
        return n < 0 || (size_t) n >= size ? -ENOBUFS : n;
}

static int take_name(const char *word, char *dest, size_t size)
{
        if (streq(word, "-")) {
                dest[0] = 0;
                return 0;
        }
        if (!name_ok(word) || strlen(word) >= size)
                return -EINVAL;
        strcpy(dest, word);
        return 0;
}

int history_parse_record(const char *line, struct history_record *ret)
{
        char program[80], profile[80], reason[80], fault[80];
        unsigned long long start, duration;
        struct history_record r = {};
        int end = 0;

        if (sscanf(line, "%llu %llu %79s %79s %79s %79s%n", &start, &duration, program, profile, reason, fault,
                   &end) != 6 ||
            (line[end] != 0 && line[end] != '\n'))
                return -EINVAL;
        r.start_usec = start;
        r.duration_usec = duration;
        if (take_name(program, r.program, sizeof(r.program)) < 0 ||
            take_name(profile, r.profile, sizeof(r.profile)) < 0 ||
            take_name(reason, r.reason, sizeof(r.reason)) < 0 || !r.reason[0] ||
            take_name(fault, r.fault, sizeof(r.fault)) < 0)
                return -EINVAL;
        *ret = r;
        return 0;
}

static int history_format(void *userdata, char **ret_data, size_t *ret_size)
{
        struct history *h = userdata;
        char *data = NULL;
        size_t size = 0;
        char line[256];
        FILE *f = open_memstream(&data, &size);

        if (!f)
                return -ENOMEM;
        fputs(HISTORY_HEADER, f);
        for (size_t i = 0; i < h->n; i++)
                if (history_format_record(&h->records[i], line, sizeof(line)) > 0)
                        fputs(line, f);
        if (fclose(f) != 0) {
                free(data);
                return -ENOMEM;
        }
        *ret_data = data;
        *ret_size = size;
        return 0;
}

static void history_written(struct saved_file *f, int result, uint64_t generation, void *userdata)
{
        if (result < 0)
                log_warning_errno(result, "Cannot write the history %s: %m", saved_file_path(f));
}

static void push(struct history *h, const struct history_record *r)
{
        if (h->n == h->max) {
                memmove(h->records, h->records + 1, (h->n - 1) * sizeof(*h->records));
                h->n--;
        }
        h->records[h->n++] = *r;
}

static int load(struct history *h, const char *path)
{
        _cleanup_(fclosep) FILE *f = fopen(path, "re");
        char line[512];
        unsigned number = 0;

        if (!f)
                return errno == ENOENT ? 0 : -errno;
        while (fgets(line, sizeof(line), f)) {
                struct history_record r;
                number++;
                if (line[0] == '#')
                        continue;
                if (history_parse_record(line, &r) < 0) {
                        log_warning("%s:%u: not a history record; left out", path, number);
                        continue;
                }
                push(h, &r);
        }
        return 0;
}

int history_new(sd_event *event, const char *state_dir, unsigned max, struct history **ret)
{
        _cleanup_(history_freep) struct history *h = calloc(1, sizeof(*h));
        _cleanup_free_ char *path = NULL;
        int r;

        if (!h)
                return -ENOMEM;
        h->max = max ?: 1;
        h->records = calloc(h->max, sizeof(*h->records));
        if (!h->records || asprintf(&path, "%s/%s", state_dir, HISTORY_FILE) < 0)
                return -ENOMEM;
        r = load(h, path);
        if (r < 0)
                log_warning_errno(r, "Cannot read the history %s: %m; it starts afresh", path);
        r = saved_file_new(event, path, 0644, history_format, history_written, h, &h->file);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(h);
        return 0;
}

struct history *history_free(struct history *h)
{
        if (!h)
                return NULL;
        saved_file_free(h->file);
        free(h->records);
        free(h);
        return NULL;
}

void history_add(struct history *h, const struct history_record *r)
{
        push(h, r);
        saved_file_save(h->file);
}

size_t history_count(const struct history *h)
{
        return h->n;
}

const struct history_record *history_get(const struct history *h, size_t i)
{
        return i < h->n ? &h->records[h->n - 1 - i] : NULL;
}
