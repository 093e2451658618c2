/* records.c: chairctl history and usage: what chaird recorded of the sessions and faults, and its counters
 * since install. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chairctl.h"

/* A record as chaird sends it (a{sv}), its strings borrowed from the JSON object. */
struct record {
        uint64_t start, duration;
        const char *program, *profile, *reason, *fault;
};

static struct record record_from_json(json_object *o)
{
        return (struct record){
                .start = json_member_uint(o, "start"),
                .duration = json_member_uint(o, "duration"),
                .program = json_member_string(o, "program"),
                .profile = json_member_string(o, "profile"),
                .reason = json_member_string(o, "reason"),
                .fault = json_member_string(o, "fault"),
        };
}

/* A time to the second, as chaird's durations read: 1h2m, 12m30s, 45s. */
static const char *seconds(char *buf, size_t size, uint64_t usec)
{
        return format_duration(buf, size, usec / USEC_PER_SEC * USEC_PER_SEC);
}

static void print_record(const struct record *rec)
{
        time_t t = (time_t) (rec->start / 1000000);
        char when[32], took[32];
        struct tm tm;

        if (!localtime_r(&t, &tm) || !strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm))
                snprintf(when, sizeof(when), "@%" PRIu64, rec->start / 1000000);
        if (!*rec->program) { /* a fault outside a session */
                printf("%s  fault %s\n", when, rec->fault);
                return;
        }
        seconds(took, sizeof(took), rec->duration);
        printf("%s  %-16s %8s  %s", when, rec->program, took, rec->reason);
        if (*rec->fault && !streq(rec->fault, rec->reason))
                printf(" (%s)", rec->fault);
        if (*rec->profile)
                printf("  profile %s", rec->profile);
        putchar('\n');
}

static json_object *record_json(const struct record *rec)
{
        json_object *o = json_object_new_object();

        json_object_object_add(o, "start_usec", json_object_new_uint64(rec->start));
        json_object_object_add(o, "duration_usec", json_object_new_uint64(rec->duration));
        json_object_object_add(o, "program", json_string_or_empty(rec->program));
        json_object_object_add(o, "profile", json_string_or_empty(rec->profile));
        json_object_object_add(o, "reason", json_string_or_empty(rec->reason));
        json_object_object_add(o, "fault", json_string_or_empty(rec->fault));
        return o;
}

int verb_history(sd_bus *bus, int argc, char *argv[])
{
        _cleanup_json_ json_object *records = NULL, *list = json_object_new_array();
        uint32_t max = 20;
        int r;

        if (argc > 2) {
                fprintf(stderr, "chairctl: history takes at most a number of records (0: all)\n");
                return EXIT_USAGE;
        }
        if (argc == 2 && (r = online_parse_number(argv[1], "number of records", &max)) != 0)
                return r;
        r = online_call_json(bus, NULL, "History", &records, "u", max);
        if (r)
                return r;
        for (size_t i = 0; i < json_object_array_length(records); i++) {
                struct record rec = record_from_json(json_object_array_get_idx(records, i));
                if (global.json)
                        json_object_array_add(list, record_json(&rec));
                else
                        print_record(&rec);
        }
        if (global.json)
                json_print(TAKE_PTR(list), "\n");
        return 0;
}

int verb_usage(sd_bus *bus, int argc, char *argv[])
{
        _cleanup_json_ json_object *counters = NULL;
        int r;

        if (argc > 1) {
                fprintf(stderr, "chairctl: usage takes no arguments\n");
                return EXIT_USAGE;
        }
        r = online_get_json(bus, "Usage", &counters);
        if (r)
                return r;
        if (global.json) {
                json_print(TAKE_PTR(counters), "\n");
                return 0;
        }
        json_object_object_foreach(counters, name, value)
        {
                size_t len = strlen(name);
                char took[32];
                if (len > 5 && streq(name + len - 5, "-usec"))
                        printf("%-20.*s %s\n", (int) (len - 5), name,
                               seconds(took, sizeof(took), json_object_get_uint64(value)));
                else
                        printf("%-20s %" PRIu64 "\n", name, json_object_get_uint64(value));
        }
        return 0;
}
