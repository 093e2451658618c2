/* marker.c: the marker of an active chair in the state directory. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "marker.h"
#include "util.h"

static int marker_path(const char *state_dir, char *buf, size_t size)
{
        int n = snprintf(buf, size, "%s/active", state_dir);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

int marker_set(const char *state_dir, const char *program_id)
{
        char path[PATH_MAX], text[256], at[32] = "";
        time_t since = time(NULL);
        struct tm tm;
        int r;

        r = marker_path(state_dir, path, sizeof(path));
        if (r < 0)
                return r;
        if (localtime_r(&since, &tm))
                strftime(at, sizeof(at), "%Y-%m-%d %H:%M:%S", &tm);
        snprintf(text, sizeof(text), "active since %s%s%s\n", at, program_id ? ", program " : "",
                 program_id ?: "");
        if (mkdir(state_dir, 0755) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "Cannot create %s: %m", state_dir);
        r = write_file_atomic(path, text, strlen(text), 0644);
        if (r < 0)
                return log_error_errno(r, "Cannot write %s: %m", path);
        return 0;
}

int marker_clear(const char *state_dir)
{
        char path[PATH_MAX];
        int r = marker_path(state_dir, path, sizeof(path));

        if (r < 0)
                return r;
        if (unlink(path) < 0 && errno != ENOENT)
                return log_error_errno(-errno, "Cannot remove %s: %m", path);
        return 0;
}

bool marker_found(const char *state_dir, char *ret_what, size_t size)
{
        char path[PATH_MAX];
        FILE *f;

        if (marker_path(state_dir, path, sizeof(path)) < 0 || !(f = fopen(path, "re")))
                return false;
        if (!fgets(ret_what, (int) size, f))
                ret_what[0] = '\0';
        ret_what[strcspn(ret_what, "\n")] = '\0';
        fclose(f);
        return true;
}
