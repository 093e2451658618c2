/* util.h: small helpers every chaird component shares (cleanup, strings, time). */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef uint64_t usec_t;

#define USEC_INFINITY   UINT64_MAX
#define USEC_PER_MSEC   ((usec_t) 1000ULL)
#define USEC_PER_SEC    ((usec_t) 1000000ULL)
#define USEC_PER_MINUTE (60ULL * USEC_PER_SEC)
#define USEC_PER_HOUR   (60ULL * USEC_PER_MINUTE)

#define ELEMENTSOF(a)  (sizeof(a) / sizeof((a)[0]))
#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_       __attribute__((unused))
#define STRINGIFY_(x)  #x
#define STRINGIFY(x)   STRINGIFY_(x)

/* Hands ownership over: returns the pointer and clears the variable so its cleanup does nothing. */
#define TAKE_PTR(p)                                                                                         \
        ({                                                                                                  \
                __typeof__(p) _ptr_ = (p);                                                                  \
                (p) = NULL;                                                                                 \
                _ptr_;                                                                                      \
        })

static inline void freep(void *p)
{
        free(*(void **) p);
}

static inline void fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}

static inline void closep(int *fd)
{
        if (*fd >= 0)
                close(*fd);
}

static inline void *mfree(void *p)
{
        free(p);
        return NULL;
}

static inline bool streq(const char *a, const char *b)
{
        return strcmp(a, b) == 0;
}

/* A name as ids, patterns, history records and usage counters have them: 1 to max of [a-z0-9-]. */
bool name_is_valid(const char *s, size_t max);

static inline bool streq_ptr(const char *a, const char *b)
{
        if (!a || !b)
                return a == b;
        return streq(a, b);
}

/* Grows *array (of *cap elements of size elem) so that it holds at least need elements. */
int grow_array(void *array, size_t *cap, size_t need, size_t elem);

/* The time on CLOCK_MONOTONIC. */
usec_t now_usec(void);
usec_t now_realtime_usec(void); /* the wall clock, for records people read */

/* A periodic timer's next deadline after the one due at due: one period on, in step with it; but never at or
 * before now. A loop held up (or a first deadline of 0) skips the periods it missed instead of running them
 * back to back, which would starve every event of a lower priority (D-Bus) until it had caught up. */
usec_t next_period(usec_t due, usec_t period, usec_t now);

/* Formats a duration as the shortest exact "1h2m3s" / "1m30s" / "250ms" string into buf. */
const char *format_duration(char *buf, size_t size, usec_t usec);
#define DURATION_MAX_STR 32

/* a * b / c rounded down, exactly, without overflow of the product (32-bit boards have no 128-bit integers).
 * c must not be 0 and the result must fit 64 bits. */
uint64_t muldiv_u64(uint64_t a, uint64_t b, uint64_t c);

/* Levenshtein distance, capped: used to suggest a key or name the user probably meant. */
unsigned edit_distance(const char *a, const char *b);

/* Among candidates (NULL-terminated), the one closest to word, or NULL if none is close enough. */
const char *closest_name(const char *word, const char *const *candidates);

/* NULL-terminated string vectors. */
char **strv_free(char **l);
static inline void strv_freep(char ***l)
{
        strv_free(*l);
}
size_t strv_length(char *const *l);
bool strv_contains(const char *const *l, const char *s);
/* The strings of l joined by sep into buf (cut short if it does not fit); returns buf. */
const char *strv_join(char *buf, size_t size, const char *const *l, const char *sep);
/* Appends a copy of s; -ENOMEM on failure (l is unchanged then). */
int strv_extend(char ***l, const char *s);

#include "files.h" /* files in folders others can write, and atomic writes */
