/* test-schema.c: durations, numbers and names parse exactly, and wrong ones say why. */
#include <errno.h>

#include "helpers.h"
#include "schema.h"

static void test_durations_parse_with_units(void)
{
        static const struct {
                const char *text;
                usec_t usec;
        } good[] = {
                {"90s", 90 * USEC_PER_SEC},
                {"5m", 5 * USEC_PER_MINUTE},
                {"1m30s", 90 * USEC_PER_SEC},
                {"1h", USEC_PER_HOUR},
                {"250ms", 250 * USEC_PER_MSEC},
                {"1h2m3s4ms", USEC_PER_HOUR + 2 * USEC_PER_MINUTE + 3 * USEC_PER_SEC + 4 * USEC_PER_MSEC},
                {"0s", 0},
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                usec_t v = 1;
                const char *reason = NULL;
                CHECK_EQ_U(parse_duration(good[i].text, &v, &reason), 0);
                CHECK_EQ_U(v, good[i].usec);
        }
}

static void test_bad_durations_say_why(void)
{
        static const struct {
                const char *text, *reason;
        } bad[] = {
                {"90", "a duration needs a unit (h, m, s or ms), e.g. 90s or 5m"},
                {"-5m", "a duration cannot be negative"},
                {"30s1m", "units must go from larger to smaller, each once, as in 1m30s"},
                {"1m1m", "units must go from larger to smaller, each once, as in 1m30s"},
                {"m", "expected a whole number with a unit, e.g. 90s, 5m or 1m30s"},
                {"5x", "expected a unit h, m, s or ms, e.g. 90s, 5m or 1m30s"},
                /* Written another way than the format's: what is wrong, and the duration as it is
                 * written. */
                {"5 min", "the units are h, m, s and ms: write 5m"},
                {"1 hour", "the units are h, m, s and ms: write 1h"},
                {"2 minutes 30 seconds", "the units are h, m, s and ms: write 2m30s"},
                {"10M", "units are lowercase: write 10m"},
                {"1.5m", "a duration is whole numbers of units: write 1m30s"},
                {"2.25s", "a duration is whole numbers of units: write 2s250ms"},
                {"10 m", "a duration has no spaces: write 10m"},
                {"1m 30s", "a duration has no spaces: write 1m30s"},
                /* Not a whole millisecond: no suggestion. */
                {"0.5ms", "expected a unit h, m, s or ms, e.g. 90s, 5m or 1m30s"},
                {"99999999999999999h", "the duration is too long"},
                {"", "a duration cannot be empty"},
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                usec_t v = 0;
                const char *reason = NULL;
                CHECK_EQ_U(parse_duration(bad[i].text, &v, &reason), -EINVAL);
                CHECK_STREQ(reason, bad[i].reason);
        }
}

static void test_numbers_are_plain_decimals_only(void)
{
        double v;
        CHECK(parse_number("0.25", &v) == 0 && v == 0.25);
        CHECK(parse_number("-3", &v) == 0 && v == -3.0);
        CHECK(parse_number("1e3", &v) == -EINVAL);
        CHECK(parse_number("inf", &v) == -EINVAL);
        CHECK(parse_number("0x10", &v) == -EINVAL);
        CHECK(parse_number(".", &v) == -EINVAL);
        CHECK(parse_number("", &v) == -EINVAL);
}

static void test_format_duration_round_trips(void)
{
        char buf[DURATION_MAX_STR];
        CHECK_STREQ(format_duration(buf, sizeof(buf), 90 * USEC_PER_SEC), "1m30s");
        CHECK_STREQ(format_duration(buf, sizeof(buf), 15 * USEC_PER_MINUTE), "15m");
        CHECK_STREQ(format_duration(buf, sizeof(buf), 1500 * USEC_PER_MSEC), "1s500ms");
        CHECK_STREQ(format_duration(buf, sizeof(buf), 0), "0s");
}

static void test_suggestions_find_close_names_only(void)
{
        static const char *const names[] = {"roller", "recline", "airbags", "heat", NULL};
        CHECK_STREQ(closest_name("rollr", names), "roller");
        CHECK_STREQ(closest_name("airbag", names), "airbags");
        CHECK(closest_name("banana", names) == NULL);
        CHECK_EQ_U(edit_distance("kitten", "sitting"), 3);
}

RUN_TESTS(T(test_durations_parse_with_units), T(test_bad_durations_say_why),
          T(test_numbers_are_plain_decimals_only), T(test_format_duration_round_trips),
          T(test_suggestions_find_close_names_only))
