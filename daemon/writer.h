/* writer.h: a file written atomically off the event loop. On an SD card an fsync can take a second; the loop
 * must not stop for it (the control tick, the board's heartbeat), so the write runs on a thread of its own
 * and its end comes back to the loop as an event. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

struct writer;

/* Called on the loop once the file is on the disk (0) or could not be written (-errno). The writer may be
 * freed from here. */
typedef void (*writer_done_t)(struct writer *w, int result, void *userdata);

/* Starts writing data (copied) to name inside the folder dir_fd (a copy of it is kept; dir names it in
 * messages): write_file_atomic_at (temporary file, fsync, rename, fsync of the folder), never through a
 *
 * link. */
int writer_start(sd_event *event, int dir_fd, const char *dir, const char *name, const void *data,
                 size_t size, unsigned mode, writer_done_t done, void *userdata, struct writer **ret);
/* Starts an fdatasync of fd (a copy of it: fd may be closed meanwhile) off the loop; done as for a write. */
int writer_sync(sd_event *event, int fd, writer_done_t done, void *userdata, struct writer **ret);
/* Waits for the thread if it still writes (the callback is not called then), and frees the writer. */
struct writer *writer_free(struct writer *w);
const char *writer_path(const struct writer *w); /* "dir/name" for messages; NULL for a sync */

/* A file kept on the disk as the latest of what its owner holds: each save starts a write off the loop, or,
 * while one is under way, one more after it (with what is latest then), however many saves came
 * meanwhile. */
struct saved_file;

/* The file's content as it is now, called when a write starts: *ret_data is malloc'ed (freed by the
 * caller). */
typedef int (*saved_file_format_t)(void *userdata, char **ret_data, size_t *ret_size);
/* A write ended: everything saved up to generation is on the disk (result 0), or it could not be written
 * (-errno; what it held is written again with the next save). May be NULL. */
typedef void (*saved_file_done_t)(struct saved_file *f, int result, uint64_t generation, void *userdata);

/* The file name inside the folder dir_fd (a copy is kept; -1: no folder, nothing is written and nothing is
 * pending); dir names the folder in messages. */
int saved_file_new(sd_event *event, int dir_fd, const char *dir, const char *name, unsigned mode,
                   saved_file_format_t format, saved_file_done_t done, void *userdata,
                   struct saved_file **ret);
/* Asks for a write of the present content; the generation this save belongs to (done() reports it). */
uint64_t saved_file_save(struct saved_file *f);
/* Marks the content changed without starting a write: the next save or the flush writes it. */
void saved_file_mark(struct saved_file *f);
/* The generation of the last save asked for. */
uint64_t saved_file_asked(const struct saved_file *f);
/* Whether a save has not reached the disk yet. */
bool saved_file_pending(const struct saved_file *f);
/* Waits for a write under way and writes what is still unsaved, here and now (at exit, off the loop). */
int saved_file_flush(struct saved_file *f);
/* Drops what is saved but not yet being written: after a write under way, nothing more is written (the
 * file is going away). A later save asks again. */
void saved_file_drop(struct saved_file *f);
/* Whether a write is under way on the writer's thread. */
bool saved_file_busy(const struct saved_file *f);
/* Waits for a write under way, and frees without writing what is unsaved (the file is going away). */
struct saved_file *saved_file_discard(struct saved_file *f);
/* Flushes, then frees. */
struct saved_file *saved_file_free(struct saved_file *f);
static inline void saved_file_freep(struct saved_file **f)
{
        saved_file_free(*f);
}
const char *saved_file_path(const struct saved_file *f); /* "dir/name", for messages */
const char *saved_file_name(const struct saved_file *f); /* its name inside its folder */
