/* records.c: chairctl history and usage: what chaird recorded of the sessions and faults, and its counters
 * since install. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chairctl.h"

/* A record as chaird sends it (a{sv}), its strings borrowed from the message. */
struct record {
        uint64_t start, duration;
        const char *program, *profile, *reason, *fault;
};

static int read_record(sd_bus_message *m, struct record *ret)
{
        struct record rec = {.program = "", .profile = "", .reason = "", .fault = ""};
        const char *key;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r <= 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                if (streq(key, "start") || streq(key, "duration"))
                        r = sd_bus_message_read(m, "v", "t",
                                                streq(key, "start") ? &rec.start : &rec.duration);
                else if (streq(key, "program") || streq(key, "profile") || streq(key, "reason") ||
                         streq(key, "fault"))
                        r = sd_bus_message_read(m, "v", "s",
                                                streq(key, "program")   ? &rec.program
                                                : streq(key, "profile") ? &rec.profile
                                                : streq(key, "reason")  ? &rec.reason
                                                                        : &rec.fault);
                else
                        r = sd_bus_message_skip(m, "v"); /* a key of a later chaird */
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = rec;
        return 1;
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
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        json_object *list = NULL;
        uint32_t max = 20;
        struct record rec;
        int r;

        if (argc > 2) {
                fprintf(stderr, "chairctl: history takes at most a number of records (0: all)\n");
                return EXIT_USAGE;
        }
        if (argc == 2 && (r = online_parse_number(argv[1], "number of records", &max)) != 0)
                return r;
        r = sd_bus_call_method(bus, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH, CHAIRD_INTERFACE, "History", &error,
                               &reply, "u", max);
        if (r < 0) {
                r = online_report(&error, r);
                sd_bus_error_free(&error);
                return r;
        }
        if (global.json)
                list = json_object_new_array();
        r = sd_bus_message_enter_container(reply, 'a', "a{sv}");
        while (r >= 0 && (r = read_record(reply, &rec)) > 0) {
                if (list)
                        json_object_array_add(list, record_json(&rec));
                else
                        print_record(&rec);
        }
        if (r < 0) {
                fprintf(stderr, "chairctl: cannot read chaird's history: %s\n", strerror(-r));
                json_object_put(list);
                sd_bus_message_unref(reply);
                return EXIT_FAILED;
        }
        if (list)
                json_print(list, "\n");
        sd_bus_message_unref(reply);
        return 0;
}

int verb_usage(sd_bus *bus, int argc, char *argv[])
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        json_object *o = NULL;
        const char *name;
        uint64_t value;
        int r;

        if (argc > 1) {
                fprintf(stderr, "chairctl: usage takes no arguments\n");
                return EXIT_USAGE;
        }
        r = sd_bus_get_property(bus, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH, CHAIRD_INTERFACE, "Usage", &error,
                                &reply, "a{st}");
        if (r < 0) {
                r = online_report(&error, r);
                sd_bus_error_free(&error);
                return r;
        }
        if (global.json)
                o = json_object_new_object();
        r = sd_bus_message_enter_container(reply, 'a', "{st}");
        while (r >= 0 && (r = sd_bus_message_read(reply, "{st}", &name, &value)) > 0) {
                size_t len = strlen(name);
                char took[32];
                if (o)
                        json_object_object_add(o, name, json_object_new_uint64(value));
                else if (len > 5 && streq(name + len - 5, "-usec"))
                        printf("%-20.*s %s\n", (int) (len - 5), name, seconds(took, sizeof(took), value));
                else
                        printf("%-20s %" PRIu64 "\n", name, value);
        }
        if (r < 0) {
                fprintf(stderr, "chairctl: cannot read chaird's usage counters: %s\n", strerror(-r));
                json_object_put(o);
                sd_bus_message_unref(reply);
                return EXIT_FAILED;
        }
        if (o)
                json_print(o, "\n");
        sd_bus_message_unref(reply);
        return 0;
}
