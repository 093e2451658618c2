/* util.c: small helpers every chaird component shares. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <time.h>

#include "util.h"

int grow_array(void *array, size_t *cap, size_t need, size_t elem)
{
        void **p = array;
        size_t n;
        void *q;

        if (need <= *cap)
                return 0;
        n = *cap ? *cap * 2 : 8;
        while (n < need)
                n *= 2;
        if (n > SIZE_MAX / elem)
                return -ENOMEM;
        q = realloc(*p, n * elem);
        if (!q)
                return -ENOMEM;
        *p = q;
        *cap = n;
        return 0;
}

const char *format_duration(char *buf, size_t size, usec_t usec)
{
        usec_t h = usec / USEC_PER_HOUR, m = usec / USEC_PER_MINUTE % 60, s = usec / USEC_PER_SEC % 60;
        usec_t ms = usec / USEC_PER_MSEC % 1000;
        size_t n = 0;

        buf[0] = '\0';
        if (usec == 0) {
                snprintf(buf, size, "0s");
                return buf;
        }
        if (h)
                n += snprintf(buf + n, n < size ? size - n : 0, "%lluh", (unsigned long long) h);
        if (m)
                n += snprintf(buf + n, n < size ? size - n : 0, "%llum", (unsigned long long) m);
        if (s)
                n += snprintf(buf + n, n < size ? size - n : 0, "%llus", (unsigned long long) s);
        if (ms)
                n += snprintf(buf + n, n < size ? size - n : 0, "%llums", (unsigned long long) ms);
        if (usec % USEC_PER_MSEC)
                snprintf(buf + n, n < size ? size - n : 0, "%lluus",
                         (unsigned long long) (usec % USEC_PER_MSEC));
        return buf;
}

unsigned edit_distance(const char *a, const char *b)
{
        /* Names we compare are short; longer ones are never "close", so cap the work. */
        enum { MAX = 64 };
        unsigned row[MAX + 1];
        size_t la = strlen(a), lb = strlen(b);

        if (la > MAX || lb > MAX)
                return MAX;
        for (size_t j = 0; j <= lb; j++)
                row[j] = j;
        for (size_t i = 1; i <= la; i++) {
                unsigned diag = row[0];
                row[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        unsigned up = row[j];
                        unsigned best = diag + (a[i - 1] != b[j - 1]);
                        if (row[j] + 1 < best)
                                best = row[j] + 1;
                        if (row[j - 1] + 1 < best)
                                best = row[j - 1] + 1;
                        row[j] = best;
                        diag = up;
                }
        }
        return row[lb];
}

const char *closest_name(const char *word, const char *const *candidates)
{
        const char *best = NULL;
        unsigned best_d = UINT32_MAX;
        size_t len = strlen(word);
        /* Allow one typo in short words, roughly one in three characters in longer ones. */
        unsigned limit = len <= 4 ? 1 : (unsigned) (len / 3 + 1);

        for (size_t i = 0; candidates[i]; i++) {
                unsigned d = edit_distance(word, candidates[i]);
                if (d < best_d) {
                        best_d = d;
                        best = candidates[i];
                }
        }
        return best_d <= limit ? best : NULL;
}

char **strv_free(char **l)
{
        if (l)
                for (char **p = l; *p; p++)
                        free(*p);
        free(l);
        return NULL;
}

size_t strv_length(char *const *l)
{
        size_t n = 0;
        while (l && l[n])
                n++;
        return n;
}

bool strv_contains(const char *const *l, const char *s)
{
        for (; l && *l; l++)
                if (streq(*l, s))
                        return true;
        return false;
}

int strv_extend(char ***l, const char *s)
{
        size_t n = strv_length(*l);
        char **q, *c;

        c = strdup(s);
        if (!c)
                return -ENOMEM;
        q = realloc(*l, (n + 2) * sizeof(char *));
        if (!q) {
                free(c);
                return -ENOMEM;
        }
        q[n] = c;
        q[n + 1] = NULL;
        *l = q;
        return 0;
}

usec_t now_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

usec_t next_period(usec_t due, usec_t period, usec_t now)
{
        if (due + period > now)
                return due + period;
        return now - (now - due) % period + period; /* the next deadline in step that is still ahead */
}

usec_t now_realtime_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

bool name_is_valid(const char *s, size_t max)
{
        size_t n = strlen(s);

        if (n == 0 || n > max)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
                        return false;
        return true;
}

uint64_t muldiv_u64(uint64_t a, uint64_t b, uint64_t c)
{
        /* The 128-bit product hi:lo from 32-bit halves; the middle sum cannot overflow. */
        uint64_t a_lo = a & UINT32_MAX, a_hi = a >> 32, b_lo = b & UINT32_MAX, b_hi = b >> 32;
        uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi, hi_hi = a_hi * b_hi;
        uint64_t middle = (lo_lo >> 32) + (hi_lo & UINT32_MAX) + lo_hi;
        uint64_t lo = (middle << 32) | (lo_lo & UINT32_MAX);
        uint64_t hi = (hi_lo >> 32) + (middle >> 32) + hi_hi;
        uint64_t q = 0, r = 0;

        /* Long division, a bit at a time: a remainder that overflowed on the shift is above c anyway. */
        for (int i = 127; i >= 0; i--) {
                bool overflow = r >> 63;
                r = (r << 1) | ((i >= 64 ? hi >> (i - 64) : lo >> i) & 1);
                q <<= 1;
                if (overflow || r >= c) {
                        r -= c;
                        q |= 1;
                }
        }
        return q;
}

const char *strv_join(char *buf, size_t size, const char *const *l, const char *sep)
{
        size_t n = 0;

        if (size == 0)
                return buf;
        buf[0] = '\0';
        for (size_t i = 0; l && l[i] && n < size; i++) {
                int k = snprintf(buf + n, size - n, "%s%s", i > 0 ? sep : "", l[i]);
                if (k < 0)
                        break;
                n += (size_t) k;
        }
        return buf;
}
