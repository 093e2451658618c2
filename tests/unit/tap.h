/* tap.h: a minimal test harness printing TAP, so meson counts each test case. */
#pragma once

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

struct test_case {
        const char *name;
        void (*fn)(void);
};

static bool tap_case_failed;

#define CHECK(cond)                                                                                         \
        do {                                                                                                \
                if (!(cond)) {                                                                              \
                        printf("# %s:%d: failed: %s\n", __FILE__, __LINE__, #cond);                         \
                        tap_case_failed = true;                                                             \
                }                                                                                           \
        } while (0)

#define CHECK_EQ_U(a, b)                                                                                    \
        do {                                                                                                \
                unsigned long long _a = (unsigned long long) (a), _b = (unsigned long long) (b);            \
                if (_a != _b) {                                                                             \
                        printf("# %s:%d: failed: %s == %s (%llu != %llu)\n", __FILE__, __LINE__, #a, #b,    \
                               _a, _b);                                                                     \
                        tap_case_failed = true;                                                             \
                }                                                                                           \
        } while (0)

#define CHECK_STREQ(a, b)                                                                                   \
        do {                                                                                                \
                const char *_a = (a), *_b = (b);                                                            \
                if (!_a || !_b || strcmp(_a, _b) != 0) {                                                    \
                        printf("# %s:%d: failed: %s == %s\n#   got:      %s\n#   expected: %s\n", __FILE__, \
                               __LINE__, #a, #b, _a ? _a : "(null)", _b ? _b : "(null)");                   \
                        tap_case_failed = true;                                                             \
                }                                                                                           \
        } while (0)

static inline int tap_run(const struct test_case *tests, size_t n)
{
        int failed = 0;

        printf("1..%zu\n", n);
        for (size_t i = 0; i < n; i++) {
                tap_case_failed = false;
                tests[i].fn();
                printf("%sok %zu - %s\n", tap_case_failed ? "not " : "", i + 1, tests[i].name);
                fflush(stdout);
                failed += tap_case_failed;
        }
        return failed ? 1 : 0;
}

#define T(fn)                                                                                               \
        {                                                                                                   \
#fn, fn                                                                                     \
        }
#define RUN_TESTS(...)                                                                                      \
        int main(void)                                                                                      \
        {                                                                                                   \
                static const struct test_case tests[] = {__VA_ARGS__};                                      \
                return tap_run(tests, ELEMENTSOF(tests));                                                   \
        }
