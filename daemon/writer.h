/* writer.h: a file written atomically off the event loop. On an SD card an fsync can take a second; the loop
 * must not stop for it (the control tick, the board's heartbeat), so the write runs on a thread of its own
 * and its end comes back to the loop as an event. */
#pragma once

#include <stddef.h>
#include <systemd/sd-event.h>

struct writer;

/* Called on the loop once the file is on the disk (0) or could not be written (-errno). The writer may be
 * freed from here. */
typedef void (*writer_done_t)(struct writer *w, int result, void *userdata);

/* Starts writing data (copied) to path: its folder made if missing (one level), then write_file_atomic
 * (temporary file, fsync, rename, fsync of the folder). */
int writer_start(sd_event *event, const char *path, const void *data, size_t size, unsigned mode,
                 writer_done_t done, void *userdata, struct writer **ret);
/* Waits for the thread if it still writes (the callback is not called then), and frees the writer. */
struct writer *writer_free(struct writer *w);
const char *writer_path(const struct writer *w);
