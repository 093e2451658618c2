/* writer.c: a file written atomically on a thread of its own; its end wakes the loop through an eventfd. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "writer.h"

struct writer {
        char *path; /* for messages; NULL: the job is an fdatasync of sync_fd */
        int dir_fd; /* the folder written in, and the file's name there */
        char *name;
        int sync_fd;
        void *data;
        size_t size;
        unsigned mode;
        int result; /* set by the thread before it wakes the loop */
        int eventfd;
        sd_event_source *source;
        pthread_t thread;
        bool running; /* the thread was started and not joined yet */
        writer_done_t done;
        void *userdata;
};

static void *write_thread(void *userdata)
{
        struct writer *w = userdata;
        uint64_t one = 1;

        if (!w->path)
                w->result = fdatasync(w->sync_fd) < 0 ? -errno : 0;
        else
                w->result = write_file_atomic_at(w->dir_fd, w->name, w->data, w->size, w->mode);
        if (write(w->eventfd, &one, sizeof(one)) < 0)
                abort(); /* a fresh eventfd written once cannot overflow */
        return NULL;
}

static int on_written(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct writer *w = userdata;
        uint64_t count;

        if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
                return -errno;
        pthread_join(w->thread, NULL);
        w->running = false;
        sd_event_source_set_enabled(s, SD_EVENT_OFF);
        w->done(w, w->result, w->userdata);
        return 0;
}

static int writer_launch(sd_event *event, struct writer *w, struct writer **ret)
{
        int r;

        w->eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->eventfd < 0) {
                r = -errno;
                goto fail;
        }
        r = sd_event_add_io(event, &w->source, w->eventfd, EPOLLIN, on_written, w);
        if (r < 0)
                goto fail;
        r = -pthread_create(&w->thread, NULL, write_thread, w);
        if (r < 0)
                goto fail;
        w->running = true;
        *ret = w;
        return 0;
fail:
        writer_free(w);
        return r;
}

/* "dir/name", for messages. */
static char *join_path(const char *dir, const char *name)
{
        char *path;
        return asprintf(&path, "%s/%s", dir, name) < 0 ? NULL : path;
}

int writer_start(sd_event *event, int dir_fd, const char *dir, const char *name, const void *data,
                 size_t size, unsigned mode, writer_done_t done, void *userdata, struct writer **ret)
{
        struct writer *w = calloc(1, sizeof(*w));

        if (!w)
                return -ENOMEM;
        *w = (struct writer){.eventfd = -1,
                             .sync_fd = -1,
                             .dir_fd = -1,
                             .mode = mode,
                             .size = size,
                             .done = done,
                             .userdata = userdata};
        w->path = join_path(dir, name);
        w->name = strdup(name);
        w->data = malloc(size ?: 1);
        if (!w->path || !w->name || !w->data) {
                writer_free(w);
                return -ENOMEM;
        }
        /* A copy: the folder stays open for the thread whatever its owner does meanwhile. */
        w->dir_fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
        if (w->dir_fd < 0) {
                int r = -errno;
                writer_free(w);
                return r;
        }
        memcpy(w->data, data, size);
        return writer_launch(event, w, ret);
}

int writer_sync(sd_event *event, int fd, writer_done_t done, void *userdata, struct writer **ret)
{
        struct writer *w = calloc(1, sizeof(*w));

        if (!w)
                return -ENOMEM;
        *w = (struct writer){.eventfd = -1, .dir_fd = -1, .done = done, .userdata = userdata};
        w->sync_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (w->sync_fd < 0) {
                int r = -errno;
                writer_free(w);
                return r;
        }
        return writer_launch(event, w, ret);
}

struct writer *writer_free(struct writer *w)
{
        if (!w)
                return NULL;
        if (w->running)
                pthread_join(w->thread,
                             NULL); /* a file half written would be a temporary one, left behind */
        sd_event_source_disable_unref(w->source);
        if (w->eventfd >= 0)
                close(w->eventfd);
        if (w->sync_fd >= 0)
                close(w->sync_fd);
        if (w->dir_fd >= 0)
                close(w->dir_fd);
        free(w->data);
        free(w->name);
        free(w->path);
        free(w);
        return NULL;
}

const char *writer_path(const struct writer *w)
{
        return w->path;
}

struct saved_file {
        sd_event *event;
        int dir_fd; /* the folder it is written in (a copy), and its name there */
        char *dir, *name, *path;
        unsigned mode;
        saved_file_format_t format;
        saved_file_done_t done;
        void *userdata;
        struct writer *writer;
        uint64_t asked;   /* generations: the last save asked for */
        uint64_t writing; /* the one the write under way holds */
        uint64_t written; /* the last on the disk */
};

static int saved_file_start(struct saved_file *f);

static void on_saved(struct writer *w, int result, void *userdata)
{
        struct saved_file *f = userdata;
        uint64_t generation = f->writing;

        f->writer = writer_free(w);
        if (result == 0)
                f->written = generation;
        if (f->done)
                f->done(f, result, generation, f->userdata);
        /* Saved again meanwhile: once more with what is latest. A failure waits for the next save. */
        if (result == 0 && f->asked > f->written)
                saved_file_start(f);
}

static int saved_file_start(struct saved_file *f)
{
        _cleanup_free_ char *data = NULL;
        size_t size = 0;
        int r = f->format(f->userdata, &data, &size);

        if (r >= 0) {
                f->writing = f->asked;
                r = writer_start(f->event, f->dir_fd, f->dir, f->name, data, size, f->mode, on_saved, f,
                                 &f->writer);
        }
        if (r < 0 && f->done)
                f->done(f, r, f->asked, f->userdata);
        return r;
}

int saved_file_new(sd_event *event, int dir_fd, const char *dir, const char *name, unsigned mode,
                   saved_file_format_t format, saved_file_done_t done, void *userdata,
                   struct saved_file **ret)
{
        struct saved_file *f = calloc(1, sizeof(*f));

        if (!f)
                return -ENOMEM;
        *f = (struct saved_file){.event = sd_event_ref(event),
                                 .dir_fd = dir_fd >= 0 ? fcntl(dir_fd, F_DUPFD_CLOEXEC, 3) : -1,
                                 .dir = strdup(dir),
                                 .name = strdup(name),
                                 .path = join_path(dir, name),
                                 .mode = mode,
                                 .format = format,
                                 .done = done,
                                 .userdata = userdata};
        if (!f->dir || !f->name || !f->path) {
                saved_file_free(f);
                return -ENOMEM;
        }
        if (dir_fd >= 0 && f->dir_fd < 0) {
                int r = -errno;
                saved_file_free(f);
                return r;
        }
        *ret = f;
        return 0;
}

uint64_t saved_file_save(struct saved_file *f)
{
        f->asked++;
        if (f->dir_fd < 0)
                f->written = f->asked; /* no folder: nothing is kept, and nothing is pending */
        else if (!f->writer)
                saved_file_start(f);
        return f->asked;
}

void saved_file_mark(struct saved_file *f)
{
        f->asked++;
}

uint64_t saved_file_asked(const struct saved_file *f)
{
        return f->asked;
}

bool saved_file_pending(const struct saved_file *f)
{
        return f->asked > f->written;
}

int saved_file_flush(struct saved_file *f)
{
        _cleanup_free_ char *data = NULL;
        size_t size = 0;
        int r;

        /* The write under way ends first (its callback does not come: the loop is done with this file). */
        if (f->writer)
                f->writer = writer_free(f->writer); /* how it ended is not known: written again below */
        if (f->asked <= f->written || f->dir_fd < 0)
                return 0;
        r = f->format(f->userdata, &data, &size);
        if (r >= 0)
                r = write_file_atomic_at(f->dir_fd, f->name, data, size, f->mode);
        if (r >= 0)
                f->written = f->asked;
        return r;
}

void saved_file_drop(struct saved_file *f)
{
        f->asked = f->writer ? f->writing : f->written;
}

bool saved_file_busy(const struct saved_file *f)
{
        return f->writer != NULL;
}

struct saved_file *saved_file_discard(struct saved_file *f)
{
        if (f)
                f->format = NULL; /* nothing to flush */
        return saved_file_free(f);
}

struct saved_file *saved_file_free(struct saved_file *f)
{
        if (!f)
                return NULL;
        if (f->format)
                saved_file_flush(f);
        f->writer = writer_free(f->writer); /* discarded: the write under way ends first */
        sd_event_unref(f->event);
        if (f->dir_fd >= 0)
                close(f->dir_fd);
        free(f->dir);
        free(f->name);
        free(f->path);
        free(f);
        return NULL;
}

const char *saved_file_path(const struct saved_file *f)
{
        return f->path;
}

const char *saved_file_name(const struct saved_file *f)
{
        return f->name;
}
