/* marker.c: the marker of an active chair in the state directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "marker.h"
#include "util.h"

#define MARKER_FILE "active"
#define MARKER_MAX  1024 /* the line it holds; a larger file is not chaird's marker */

int marker_set(int dir_fd, const char *state_dir, const char *program_id)
{
        char text[256], at[32] = "";
        time_t since = time(NULL);
        struct tm tm;
        int r;

        if (localtime_r(&since, &tm))
                strftime(at, sizeof(at), "%Y-%m-%d %H:%M:%S", &tm);
        snprintf(text, sizeof(text), "active since %s%s%s\n", at, program_id ? ", program " : "",
                 program_id ?: "");
        r = write_file_atomic_at(dir_fd, MARKER_FILE, text, strlen(text), 0644);
        if (r < 0)
                return log_error_errno(r, "Cannot write %s/" MARKER_FILE ": %m", state_dir);
        return 0;
}

int marker_clear(int dir_fd, const char *state_dir)
{
        if (unlinkat(dir_fd, MARKER_FILE, 0) < 0 && errno != ENOENT)
                return log_error_errno(-errno, "Cannot remove %s/" MARKER_FILE ": %m", state_dir);
        return 0;
}

bool marker_found(int dir_fd, const char *state_dir, char *ret_what, size_t size)
{
        _cleanup_free_ char *text = NULL;
        bool aside;
        int r = read_kept_file(dir_fd, MARKER_FILE, MARKER_MAX, &text, &aside);

        if (r == -ENOENT || r == -EBADF)
                return false; /* none, or no state directory: nothing to go by (the journal said so) */
        if (r < 0) {
                /* Something in the marker's place: the chair may have ended active. It is set aside, so
                 * that the marker can be written and removed again. */
                log_warning("%s/" MARKER_FILE ": %s%s", state_dir, file_error_words(r),
                            aside ? "; set aside as " MARKER_FILE ".broken" : "");
                snprintf(ret_what, size, "the marker %s", file_error_words(r));
                return true;
        }
        snprintf(ret_what, size, "%.*s", (int) strcspn(text, "\n"), text);
        return true;
}
