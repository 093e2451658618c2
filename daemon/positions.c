/* positions.c: the saved positions of the relay-pair motors: a line per motor, "backrest 0.4500". */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "positions.h"
#include "util.h"

int positions_format(const struct chair *c, char *buf, size_t size)
{
        size_t n = 0;

        buf[0] = '\0';
        for (unsigned m = 0; m < CHAIR_MOTORS; m++) {
                double p;
                if (!chair_motor_saved_position(c, m, &p))
                        continue;
                int k = snprintf(buf + n, size - n, "%s %.4f\n", chair_motor_name(m), p);
                if (k < 0 || (size_t) k >= size - n)
                        return -ENOBUFS;
                n += (size_t) k;
        }
        return (int) n;
}

int positions_restore(int dir_fd, const char *state_dir, struct chair *c)
{
        _cleanup_free_ char *text = NULL;
        bool restored[CHAIR_MOTORS] = {}, aside, whole, clean;
        unsigned number = 0, bad = 0, first_bad = 0;
        int n = 0, r;

        r = read_kept_file(dir_fd, POSITIONS_FILE, POSITIONS_FILE_MAX, &text, &aside);
        if (r == -ENOENT)
                return 0;
        if (r == -FILE_TOO_LARGE)
                log_warning("%s/" POSITIONS_FILE ": too large (more than %d bytes)%s; the motors home",
                            state_dir, POSITIONS_FILE_MAX,
                            aside ? "; set aside as " POSITIONS_FILE ".broken" : "");
        else if (file_error_is_odd(r))
                log_warning("%s/" POSITIONS_FILE ": %s%s; the motors home", state_dir, file_error_words(r),
                            aside ? "; set aside as " POSITIONS_FILE ".broken" : "");
        if (r < 0)
                return r;
        for (char *at = text, *line; (line = text_next_line(&at, text + r, &whole, &clean));) {
                char name[32], end;
                double p;
                unsigned m = CHAIR_MOTORS;
                bool good;

                number++;
                /* "name position" and nothing else; another motor's line (one the config no longer has) is
                 * left alone, each of this chair's motors counts once. */
                good = whole && clean && sscanf(line, "%31s %lf%c", name, &p, &end) == 2 &&
                       name_is_valid(name, sizeof(name) - 1) && isfinite(p);
                for (unsigned k = 0; good && k < CHAIR_MOTORS; k++)
                        if (streq(name, chair_motor_name(k)))
                                m = k;
                if (good && m < CHAIR_MOTORS)
                        good = !restored[m] && chair_motor_restore(c, m, p);
                if (good && m < CHAIR_MOTORS) {
                        restored[m] = true;
                        n++;
                } else if (!good && bad++ == 0)
                        first_bad = number;
        }
        if (bad > 0) {
                char path[PATH_MAX];
                snprintf(path, sizeof(path), "%s/" POSITIONS_FILE, state_dir);
                log_damaged_lines(path, bad, first_bad);
        }
        return n;
}
