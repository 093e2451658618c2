/* history.c: the record of sessions and faults: a log of lines, appended at each record, synced off the
 * loop, rewritten past its bound. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "files.h"
#include "history.h"
#include "log.h"
#include "writer.h"

#define HISTORY_HEADER   "# chaird history 1: start-usec duration-usec program profile reason fault\n"
#define HISTORY_LINE_MAX 400

struct history {
        sd_event *event;
        int dir_fd; /* the state directory: every file of the history is opened inside it */
        char *path; /* for messages */
        struct history_record *records; /* oldest first */
        size_t n, max;
        int fd;              /* the file, appended to; -1 when it cannot be opened */
        size_t file_records; /* records in the file */
        bool lost;           /* an append failed: the file lacks a record until it is rewritten */
        char *new_path;      /* the rewrite's file (HISTORY_NEW), renamed over the old one once synced */
        int new_fd;
        struct writer *rewriter; /* the new file's sync */
        size_t rewriting;        /* records the new file was written with */
        size_t held;             /* records made since: appended to it before the rename */
        struct writer *syncer;
        bool sync_again; /* appended while a sync was under way */
        off_t torn_at;   /* where a last line cut short begins, from the load (-1: none) */
};

/* Names in a record ("" written as "-"): program ids, profile names, reasons and faults are all of
 * [a-z0-9-], so a line splits on spaces. */
static bool name_ok(const char *s)
{
        return name_is_valid(s, 64);
}

static int parse_u64(const char *digits, usec_t *ret)
{
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(digits, &end, 10);
        if (errno != 0 || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

static const char *dash(const char *s)
{
        return *s ? s : "-";
}

int history_format_record(const struct history_record *r, char *buf, size_t size)
{
        int n;

        if ((r->program[0] && !name_ok(r->program)) || (r->profile[0] && !name_ok(r->profile)) ||
            !name_ok(r->reason) || (r->fault[0] && !name_ok(r->fault)))
                return -EINVAL;
        n = snprintf(buf, size, "%" PRIu64 " %" PRIu64 " %s %s %s %s\n", (uint64_t) r->start_usec,
                     (uint64_t) r->duration_usec, dash(r->program), dash(r->profile), r->reason,
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
        char start[21], duration[21], program[80], profile[80], reason[80], fault[80];
        struct history_record r = {};
        int end = 0;

        /* The times are digits only: no sign, no space before them, nothing past 64 bits. */
        if (line[0] < '0' || line[0] > '9' ||
            sscanf(line, "%20[0-9] %20[0-9] %79s %79s %79s %79s%n", start, duration, program, profile,
                   reason, fault, &end) != 6 ||
            !streq(line + end, "\n") || parse_u64(start, &r.start_usec) < 0 ||
            parse_u64(duration, &r.duration_usec) < 0)
                return -EINVAL;
        if (take_name(program, r.program, sizeof(r.program)) < 0 ||
            take_name(profile, r.profile, sizeof(r.profile)) < 0 ||
            take_name(reason, r.reason, sizeof(r.reason)) < 0 || !r.reason[0] ||
            take_name(fault, r.fault, sizeof(r.fault)) < 0)
                return -EINVAL;
        *ret = r;
        return 0;
}

static void push(struct history *h, const struct history_record *r)
{
        if (h->n == h->max) {
                memmove(h->records, h->records + 1, (h->n - 1) * sizeof(*h->records));
                h->n--;
        }
        h->records[h->n++] = *r;
}

/* The newest count records, as the file holds them. */
static int format_newest(const struct history *h, size_t count, char **ret_data, size_t *ret_size)
{
        char *data = NULL, line[HISTORY_LINE_MAX];
        size_t size = 0;
        FILE *f = open_memstream(&data, &size);

        if (!f)
                return -ENOMEM;
        fputs(HISTORY_HEADER, f);
        for (size_t i = h->n - count; i < h->n; i++)
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

static void open_file(struct history *h)
{
        if (h->fd >= 0)
                close(h->fd);
        h->fd = file_open_writing(h->dir_fd, HISTORY_FILE, O_APPEND);
        if (h->fd < 0) {
                log_warning("The history %s: %s; sessions are not recorded on disk", h->path,
                            file_error_words(h->fd));
                h->fd = -1;
        }
}

static void sync_file(struct history *h);

static void on_synced(struct writer *w, int result, void *userdata)
{
        struct history *h = userdata;

        h->syncer = writer_free(w);
        if (result < 0)
                log_warning_errno(result, "Cannot sync the history %s: %m", h->path);
        if (h->sync_again) {
                h->sync_again = false;
                sync_file(h);
        }
}

/* An fdatasync off the loop; without a thread it is left to the kernel's writeback (the loop never waits on
 * the disk). */
static void sync_file(struct history *h)
{
        int r;

        if (h->fd < 0)
                return;
        if (h->syncer) {
                h->sync_again = true;
                return;
        }
        r = writer_sync(h->event, h->fd, on_synced, h, &h->syncer);
        if (r < 0)
                log_warning_errno(r, "Cannot sync the history %s: %m", h->path);
}

/* Appends one record at the end of fd; a write that fails is taken back, so that the next starts a line. */
static int append(const struct history *h, int fd, const struct history_record *r)
{
        char line[HISTORY_LINE_MAX];
        int len = history_format_record(r, line, sizeof(line));
        off_t end;
        ssize_t k;

        if (len < 0)
                return 0; /* nothing a file can hold: in memory only */
        end = lseek(fd, 0, SEEK_END);
        k = write(fd, line, (size_t) len);
        if (k == len)
                return 0;
        int e = k < 0 ? -errno : -ENOSPC;
        if (end >= 0 && ftruncate(fd, end) < 0)
                log_warning_errno(-errno, "Cannot take back a short write to %s: %m", h->path);
        return log_warning_errno(e, "Cannot append to the history %s: %m", h->path);
}

/* Past the bound by a tenth (at least 8 records), the file is rewritten: once in that many records. */
static size_t slack(const struct history *h)
{
        return h->max / 10 > 8 ? h->max / 10 : 8;
}

static void rewrite(struct history *h);

static void rewrite_abandon(struct history *h)
{
        if (h->new_fd >= 0) {
                close(h->new_fd);
                h->new_fd = -1;
                unlinkat(h->dir_fd, HISTORY_NEW, 0);
        }
        h->rewriter = writer_free(h->rewriter);
        h->held = 0;
}

/* The new file is on the disk: the records made since it was written go after them, and it takes the old
 * one's place. Up to the rename, the old file holds every record; from it, the new one does. */
static void on_rewritten(struct writer *w, int result, void *userdata)
{
        struct history *h = userdata;
        int r = result;

        h->rewriter = writer_free(w);
        for (size_t i = h->n - h->held; r >= 0 && i < h->n; i++)
                r = append(h, h->new_fd, &h->records[i]);
        if (r >= 0 && renameat(h->dir_fd, HISTORY_NEW, h->dir_fd, HISTORY_FILE) < 0)
                r = -errno;
        if (r < 0) {
                log_warning_errno(r, "Cannot rewrite the history %s: %m; it is appended to as it is",
                                  h->path);
                rewrite_abandon(h);
                return;
        }
        close(h->fd);
        h->fd = h->new_fd;
        h->new_fd = -1;
        h->file_records = h->rewriting + h->held;
        h->held = 0;
        h->lost = false;
        sync_file(h); /* what came after the new file's own sync, and the rename with it */
        if (h->file_records > h->max + slack(h))
                rewrite(h); /* so many came during the sync (a slow card) that the new file is past it too */
}

/* The records in memory replace the file: written here (to the page cache: the bound keeps it small), synced
 * off the loop, then renamed over the old one. */
static void rewrite(struct history *h)
{
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r = format_newest(h, h->n, &data, &size);

        if (r >= 0) {
                h->new_fd = file_open_writing(h->dir_fd, HISTORY_NEW, O_TRUNC);
                r = h->new_fd < 0 ? h->new_fd : 0;
                h->new_fd = r < 0 ? -1 : h->new_fd;
        }
        if (r >= 0 && write(h->new_fd, data, size) != (ssize_t) size)
                r = -ENOSPC;
        if (r >= 0) {
                h->rewriting = h->n;
                h->held = 0;
                r = writer_sync(h->event, h->new_fd, on_rewritten, h, &h->rewriter);
        }
        if (r < 0) {
                log_warning("Cannot rewrite the history: %s: %s", h->new_path, file_error_words(r));
                rewrite_abandon(h);
        }
}

void history_add(struct history *h, const struct history_record *r)
{
        push(h, r);
        if (h->rewriter && h->held < h->n)
                h->held++; /* for the new file too, once it is synced */
        if (h->fd < 0)
                open_file(h); /* it failed before: the state directory may be back */
        if (h->fd >= 0) {
                if (append(h, h->fd, r) >= 0)
                        h->file_records++;
                else
                        h->lost = true; /* the file lacks it: the next record rewrites the file whole */
                sync_file(h);
        }
        if (!h->rewriter && h->fd >= 0 && (h->lost || h->file_records > h->max + slack(h)))
                rewrite(h);
}

/* The most a history file holds at the largest bound the config allows (a bound lowered since keeps the
 * newest of a longer file): the bound, its slack and the header, at the longest lines. A larger file is not
 * chaird's, and reading it would hold up the start. */
static size_t file_max(void)
{
        return (SESSIONS_HISTORY_MAX + SESSIONS_HISTORY_MAX / 10 + 1) * HISTORY_LINE_MAX;
}

/* Reads the file: each good line a record, the rest counted and reported once. Returns whether it must be
 * written again (lines left out, or past the bound). */
static bool load(struct history *h)
{
        _cleanup_(fclosep) FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t size = 0, records = 0;
        unsigned number = 0, bad = 0, first_bad = 0;
        bool again = false;
        off_t at = 0, file_size = 0;
        ssize_t len;
        int fd;

        fd = file_open_regular(h->dir_fd, HISTORY_FILE, false, file_max(), &file_size);
        if (fd == -ENOENT)
                return false;
        if (file_error_is_odd(fd)) {
                bool aside = file_set_aside(h->dir_fd, HISTORY_FILE) >= 0;
                if (fd == -FILE_TOO_LARGE)
                        log_warning(
                                "The history %s is too large (%lld bytes; a history holds at most %zu); %s",
                                h->path, (long long) file_size, file_max(),
                                aside ? "set aside as history.broken, it starts afresh"
                                      : "it cannot be set aside either");
                else
                        log_warning("The history %s: %s; %s", h->path, file_error_words(fd),
                                    aside ? "set aside as history.broken, it starts afresh"
                                          : "it cannot be set aside either");
                return false;
        }
        if (fd < 0 || !(f = fdopen(fd, "re"))) {
                log_warning("Cannot read the history %s: %s; it starts afresh", h->path,
                            strerror(fd < 0 ? -fd : errno));
                if (fd >= 0)
                        close(fd);
                return false;
        }
        while ((len = getline(&line, &size, f)) >= 0) {
                struct history_record r;
                number++;
                at += len;
                if (line[0] == '#')
                        continue;
                if (line[len - 1] != '\n') {
                        h->torn_at = at - len; /* only the last line can lack its '\n' */
                        log_warning(
                                "%s:%u: a record cut short (chaird stopped in the middle of writing it); "
                                "left out",
                                h->path, number);
                        again = true;
                } else if (len > HISTORY_LINE_MAX || history_parse_record(line, &r) < 0) {
                        if (bad++ == 0)
                                first_bad = number;
                        again = true;
                } else {
                        push(h, &r);
                        records++;
                }
        }
        log_damaged_lines(h->path, bad, first_bad);
        h->file_records = records;
        return again || records > h->max;
}

int history_new(sd_event *event, int dir_fd, const char *state_dir, unsigned max, struct history **ret)
{
        _cleanup_(history_freep) struct history *h = calloc(1, sizeof(*h));

        if (!h)
                return -ENOMEM;
        h->fd = h->new_fd = -1;
        h->dir_fd = -1;
        h->torn_at = -1;
        h->event = sd_event_ref(event);
        h->max = max ?: 1;
        h->records = calloc(h->max, sizeof(*h->records));
        if (!h->records || asprintf(&h->path, "%s/%s", state_dir, HISTORY_FILE) < 0) {
                h->path = NULL;
                return -ENOMEM;
        }
        if (asprintf(&h->new_path, "%s/%s", state_dir, HISTORY_NEW) < 0) {
                h->new_path = NULL;
                return -ENOMEM;
        }
        h->dir_fd = dir_fd >= 0 ? fcntl(dir_fd, F_DUPFD_CLOEXEC, 3) : -EBADF;
        if (h->dir_fd < 0) {
                log_warning("No state directory: sessions are not recorded on disk");
                *ret = TAKE_PTR(h);
                return 0;
        }
        /* A rewrite cut short: the file in place holds every record. */
        if (unlinkat(h->dir_fd, HISTORY_NEW, 0) >= 0)
                log_info("%s: left by a rewrite that was cut short; removed", h->new_path);
        if (load(h)) {
                /* At start, before anything moves: written here, and the lines it left out are gone. */
                _cleanup_free_ char *data = NULL;
                size_t size;
                int r = format_newest(h, h->n, &data, &size);
                if (r >= 0)
                        r = write_file_atomic_at(h->dir_fd, HISTORY_FILE, data, size, 0644);
                if (r >= 0)
                        h->file_records = h->n;
                else
                        log_warning_errno(r, "Cannot rewrite the history %s: %m", h->path);
                open_file(h);
                /* Appended to as it is, then: a line cut short goes, so the next starts a line. */
                if (r < 0 && h->fd >= 0 && h->torn_at >= 0 && ftruncate(h->fd, h->torn_at) < 0)
                        log_warning_errno(-errno, "Cannot cut %s back to its last whole line: %m", h->path);
        } else
                open_file(h);
        *ret = TAKE_PTR(h);
        return 0;
}

struct history *history_free(struct history *h)
{
        if (!h)
                return NULL;
        /* A rewrite under way is left: the old file holds every record. */
        rewrite_abandon(h);
        h->syncer = writer_free(h->syncer);
        if (h->fd >= 0) {
                fdatasync(h->fd);
                close(h->fd);
        }
        if (h->dir_fd >= 0)
                close(h->dir_fd);
        sd_event_unref(h->event);
        free(h->records);
        free(h->path);
        free(h->new_path);
        free(h);
        return NULL;
}

size_t history_count(const struct history *h)
{
        return h->n;
}

const struct history_record *history_get(const struct history *h, size_t i)
{
        return i < h->n ? &h->records[h->n - 1 - i] : NULL;
}

size_t history_file_records(const struct history *h)
{
        return h->file_records;
}

bool history_busy(const struct history *h)
{
        return h->rewriter || h->syncer;
}

bool history_rewriting(const struct history *h)
{
        return h->rewriter;
}
