/* positions.c: the saved positions of the relay-pair motors: a line per motor, "backrest 0.4500". */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "positions.h"

int positions_path(const char *state_dir, char *buf, size_t size)
{
        int n = snprintf(buf, size, "%s/positions", state_dir);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

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

int positions_restore(const char *path, struct chair *c)
{
        char name[32];
        double p;
        int n = 0;
        FILE *f = fopen(path, "re");

        if (!f)
                return errno == ENOENT ? 0 : -errno;
        while (fscanf(f, "%31s %lf", name, &p) == 2)
                for (unsigned m = 0; m < CHAIR_MOTORS; m++)
                        if (strcmp(name, chair_motor_name(m)) == 0 && chair_motor_restore(c, m, p))
                                n++;
        fclose(f);
        return n;
}
