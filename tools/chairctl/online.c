/* online.c: chairctl's verbs that talk to chaird over D-Bus. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "busjson.h"
#include "chairctl.h"
#include "schema.h"

#define JOG_REPEAT_USEC (100 * USEC_PER_MSEC) /* well inside the daemon's 300 ms dead-man window */

struct global_options global = {};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
        interrupted = 1;
}

static void catch_signals(void)
{
        struct sigaction sa = {.sa_handler = on_signal};
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
}

static int connect_bus(sd_bus **ret)
{
        int r = global.host ? sd_bus_open_system_remote(ret, global.host) : sd_bus_open_system(ret);

        if (r < 0) {
                fprintf(stderr, "chairctl: cannot connect to the system bus%s%s: %s\n",
                        global.host ? " of " : "", global.host ?: "", strerror(-r));
                return EXIT_NO_DAEMON;
        }
        return 0;
}

/* One clear line for an error the daemon (or the bus) returned, and the exit status that goes with it. */
int online_report(const sd_bus_error *error, int r)
{
        const char *name = error && error->name ? error->name : NULL;

        if (name &&
            (streq(name, SD_BUS_ERROR_SERVICE_UNKNOWN) || streq(name, SD_BUS_ERROR_NAME_HAS_NO_OWNER) ||
             streq(name, SD_BUS_ERROR_NO_REPLY) || streq(name, SD_BUS_ERROR_DISCONNECTED))) {
                fprintf(stderr, "chairctl: chaird is not running (or not reachable): %s\n", error->message);
                return EXIT_NO_DAEMON;
        }
        /* The connection itself went (the bus restarted, an ssh link dropped): not reachable either. */
        if ((!name || strncmp(name, "System.Error.", strlen("System.Error.")) == 0) &&
            (r == -ECONNRESET || r == -ENOTCONN || r == -EPIPE || r == -ETIMEDOUT)) {
                fprintf(stderr, "chairctl: the bus connection was lost: %s\n", strerror(-r));
                return EXIT_NO_DAEMON;
        }
        if (name) {
                const char *shortname = strncmp(name, CHAIRD_ERROR_PREFIX, strlen(CHAIRD_ERROR_PREFIX)) == 0
                                                ? name + strlen(CHAIRD_ERROR_PREFIX)
                                                : name;
                fprintf(stderr, "chairctl: %s (%s)\n", error->message ?: "failed", shortname);
        } else
                fprintf(stderr, "chairctl: %s\n", strerror(-r));
        return EXIT_FAILED;
}

int online_send(sd_bus *bus, sd_bus_message *m, int r, sd_bus_message **ret_reply)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;

        if (r >= 0)
                r = sd_bus_call(bus, m, 0, &error, ret_reply);
        if (r < 0) {
                r = online_report(&error, r);
                sd_bus_error_free(&error);
                return r;
        }
        return 0;
}

int online_new_call(sd_bus *bus, const char *method, sd_bus_message **ret)
{
        return sd_bus_message_new_method_call(bus, ret, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH,
                                              CHAIRD_INTERFACE, method);
}

static int callv(sd_bus *bus, const char *interface, const char *method, sd_bus_message **ret_reply,
                 const char *types, va_list ap)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH, interface, method);
        if (r >= 0 && types)
                r = sd_bus_message_appendv(m, types, ap);
        return online_send(bus, m, r, ret_reply);
}

int online_call(sd_bus *bus, const char *interface, const char *method, sd_bus_message **ret_reply,
                const char *types, ...)
{
        va_list ap;
        int r;

        va_start(ap, types);
        r = callv(bus, interface ?: CHAIRD_INTERFACE, method, ret_reply, types, ap);
        va_end(ap);
        return r;
}

int online_call_json(sd_bus *bus, const char *interface, const char *method, json_object **ret,
                     const char *types, ...)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        va_list ap;
        int r;

        va_start(ap, types);
        r = callv(bus, interface ?: CHAIRD_INTERFACE, method, &reply, types, ap);
        va_end(ap);
        if (r)
                return r;
        r = bus_message_read_json(reply, ret);
        if (r < 0) {
                fprintf(stderr, "chairctl: cannot read chaird's answer to %s: %s\n", method, strerror(-r));
                return EXIT_FAILED;
        }
        return 0;
}

int online_get_json(sd_bus *bus, const char *property, json_object **ret)
{
        return online_call_json(bus, PROPERTIES_INTERFACE, "Get", ret, "ss", CHAIRD_INTERFACE, property);
}

const char *json_member_string(json_object *o, const char *key)
{
        json_object *v;

        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
                       ? json_object_get_string(v)
                       : "";
}

uint64_t json_member_uint(json_object *o, const char *key)
{
        json_object *v;

        return json_object_object_get_ex(o, key, &v) ? json_object_get_uint64(v) : 0;
}

/* The members of o named in keys (NULL-terminated), in that order, as a new object; those o lacks are left
 * out. */
static json_object *json_pick(json_object *o, const char *const *keys)
{
        json_object *picked = json_object_new_object(), *v;

        for (; picked && *keys; keys++)
                if (json_object_object_get_ex(o, *keys, &v))
                        json_object_object_add(picked, *keys, json_object_get(v));
        return picked;
}

/* A dictionary of numbers (Heat, Temperatures, Positions) for people: "k v, k v", none when it is empty. */
static void print_dict(json_object *d, int decimals, const char *unit, const char *none)
{
        const char *sep = "";

        if (!json_object_is_type(d, json_type_object) || json_object_object_length(d) == 0) {
                fputs(none, stdout);
                return;
        }
        json_object_object_foreach(d, k, v)
        {
                printf("%s%s %.*f%s", sep, k, decimals, json_object_get_double(v), unit);
                sep = ", ";
        }
}

/* chaird's properties (GetAll), keys as on D-Bus. */
static int get_status(sd_bus *bus, json_object **ret)
{
        return online_call_json(bus, PROPERTIES_INTERFACE, "GetAll", ret, "s", CHAIRD_INTERFACE);
}

void json_print(json_object *o, const char *after)
{
        fputs(o ? json_text(o) : "null", stdout);
        fputs(after, stdout);
        json_object_put(o);
}

json_object *json_string_or_empty(const char *s)
{
        return json_object_new_string(s ?: "");
}

static const char *dur(char *buf, size_t size, uint64_t usec)
{
        unsigned long long s = usec / USEC_PER_SEC;
        if (s >= 3600)
                snprintf(buf, size, "%llu:%02llu:%02llu", s / 3600, s / 60 % 60, s % 60);
        else
                snprintf(buf, size, "%llu:%02llu", s / 60, s % 60);
        return buf;
}

/* What status --json shows of chaird's properties, in this order. */
static const char *const status_keys[] = {
        "State",   "Program", "Phase",        "ElapsedUSec", "DurationUSec", "Intensity",
        "Recline", "Heat",    "Temperatures", "Positions",   "Fault",        "FaultMessage",
        "Locked",  "Profile", "Shoulders",    "Session",     NULL,
};

static int verb_status(sd_bus *bus, int argc, char *argv[])
{
        _cleanup_json_ json_object *s = NULL;
        json_object *v;
        char a[32], b[32];
        int r = get_status(bus, &s);

        if (r)
                return r;
        if (global.json) {
                json_print(json_pick(s, status_keys), "\n");
                return 0;
        }
        const char *program = json_member_string(s, "Program"), *phase = json_member_string(s, "Phase"),
                   *fault = json_member_string(s, "Fault");
        uint64_t elapsed = json_member_uint(s, "ElapsedUSec"),
                 duration = json_member_uint(s, "DurationUSec");
        printf("State:        %s\n", json_member_string(s, "State"));
        if (*program) {
                json_object *session = NULL, *adjust = NULL;
                char c[32];
                printf("Program:      %s, phase %s, %s of %s (%s left)\n", program, *phase ? phase : "-",
                       dur(a, sizeof(a), elapsed), dur(b, sizeof(b), duration),
                       dur(c, sizeof(c), duration > elapsed ? duration - elapsed : 0));
                if (json_object_object_get_ex(s, "Session", &session) &&
                    json_object_object_get_ex(session, "adjustments", &adjust) &&
                    json_object_object_length(adjust) > 0) {
                        const char *sep = "";
                        printf("Adjustments:  ");
                        json_object_object_foreach(adjust, key, value)
                        {
                                printf("%s%s %s", sep, key, json_object_get_string(value));
                                sep = ", ";
                        }
                        printf("\n");
                }
        }
        printf("Profile:      %s\n",
               *json_member_string(s, "Profile") ? json_member_string(s, "Profile") : "-");
        if (json_member_uint(s, "Shoulders"))
                printf("Shoulders:    %" PRIu64 " mm\n", json_member_uint(s, "Shoulders"));
        printf("Intensity:    %" PRIu64 "\n", json_member_uint(s, "Intensity"));
        printf("Recline:      %s\n",
               *json_member_string(s, "Recline") ? json_member_string(s, "Recline") : "-");
        printf("Heat:         ");
        print_dict(json_object_object_get_ex(s, "Heat", &v) ? v : NULL, 0, "", "-");
        printf("\nTemperatures: ");
        print_dict(json_object_object_get_ex(s, "Temperatures", &v) ? v : NULL, 1, " C", "-");
        printf("\nPositions:    ");
        print_dict(json_object_object_get_ex(s, "Positions", &v) ? v : NULL, 2, "", "-");
        printf("\nFault:        %s%s%s\n", *fault ? fault : "none", *fault ? ": " : "",
               *fault ? json_member_string(s, "FaultMessage") : "");
        printf("Locked:       %s\n",
               json_object_object_get_ex(s, "Locked", &v) && json_object_get_boolean(v) ? "yes" : "no");
        return 0;
}

/* What list --json shows of a program's properties, in this order. */
static const char *const program_keys[] = {"Id", "Name", "Description", "DurationUSec", "Path", NULL};

/* The programs chaird offers: a table, JSON objects, or with ids_only one id per line (a JSON list of
 * ids). */
static int list_programs(sd_bus *bus, bool ids_only)
{
        _cleanup_json_ json_object *objects = NULL, *list = json_object_new_array();
        int r;

        r = online_call_json(bus, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", &objects, NULL);
        if (r)
                return r;
        if (!global.json && !ids_only)
                printf("%-20s %8s  %s\n", "ID", "DURATION", "NAME");
        json_object_object_foreach(objects, path, interfaces)
        {
                json_object *p;
                char buf[32];
                (void) path;
                if (!json_object_object_get_ex(interfaces, CHAIRD_PROGRAM_INTERFACE, &p))
                        continue;
                if (global.json)
                        json_object_array_add(list,
                                              ids_only ? json_object_new_string(json_member_string(p, "Id"))
                                                       : json_pick(p, program_keys));
                else if (ids_only)
                        printf("%s\n", json_member_string(p, "Id"));
                else
                        printf("%-20s %8s  %s\n", json_member_string(p, "Id"),
                               dur(buf, sizeof(buf), json_member_uint(p, "DurationUSec")),
                               json_member_string(p, "Name"));
        }
        if (global.json)
                json_print(TAKE_PTR(list), "\n");
        return 0;
}

static int verb_list(sd_bus *bus, int argc, char *argv[])
{
        return list_programs(bus, false);
}

/* Prints the strings of l, a name a line (a JSON list with --json), all but skip. */
static void print_list(json_object *l, const char *skip)
{
        _cleanup_json_ json_object *out = json_object_new_array();

        for (size_t i = 0; i < json_object_array_length(l); i++) {
                json_object *v = json_object_array_get_idx(l, i);
                if (streq_ptr(json_object_get_string(v), skip))
                        continue;
                if (global.json)
                        json_object_array_add(out, json_object_get(v));
                else
                        printf("%s\n", json_object_get_string(v));
        }
        if (global.json)
                json_print(TAKE_PTR(out), "\n");
}

/* One name per line (a JSON list with --json): a property's strings (as), or the keys of its dictionary. */
static int print_names(sd_bus *bus, const char *property, const char *skip)
{
        _cleanup_json_ json_object *v = NULL, *keys = NULL;
        int r = online_get_json(bus, property, &v);

        if (r)
                return r;
        if (json_object_is_type(v, json_type_object)) {
                keys = json_object_new_array();
                json_object_object_foreach(v, k, value)
                {
                        (void) value;
                        json_object_array_add(keys, json_object_new_string(k));
                }
        }
        print_list(keys ?: v, skip);
        return 0;
}

/* Lists of the chair's Capabilities that names prints, under their own names. */
static const char *const capability_names[] = {"techniques", "widths", "areas", "airbag-zones",
                                               "airbag-patterns"};
#define NAMES_KINDS                                                                                         \
        "programs, presets, zones, axes, profiles, techniques, widths, areas, airbag-zones, "               \
        "airbag-patterns"

/* One list of the Capabilities a{sv}, a name a line (a JSON list with --json). */
static int print_capability(sd_bus *bus, const char *key)
{
        _cleanup_json_ json_object *caps = NULL;
        json_object *l = NULL;
        int r = online_get_json(bus, "Capabilities", &caps);

        if (r)
                return r;
        if (!json_object_object_get_ex(caps, key, &l)) {
                fprintf(stderr, "chairctl: chaird's Capabilities have no %s\n", key);
                return EXIT_FAILED;
        }
        print_list(l, NULL);
        return 0;
}

/* The names a command line takes, asked of the running chaird: for scripts and shell completion. */
static int verb_names(sd_bus *bus, int argc, char *argv[])
{
        if (argc != 2) {
                fprintf(stderr, "chairctl: names takes one of: " NAMES_KINDS "\n");
                return EXIT_USAGE;
        }
        if (streq(argv[1], "programs"))
                return list_programs(bus, true);
        if (streq(argv[1], "presets"))
                return print_names(bus, "Presets", NULL);
        if (streq(argv[1], "zones"))
                return print_names(bus, "Heat", NULL);
        if (streq(argv[1], "axes"))
                return print_names(bus, "Positions", "roller");
        if (streq(argv[1], "profiles"))
                return print_names(bus, "Profiles", NULL);
        for (size_t i = 0; i < ELEMENTSOF(capability_names); i++)
                if (streq(argv[1], capability_names[i]))
                        return print_capability(bus, argv[1]);
        fprintf(stderr, "chairctl: names takes one of: " NAMES_KINDS "; not \"%s\"\n", argv[1]);
        return EXIT_USAGE;
}

/* Follows a running program until it finishes: a progress bar on a terminal, a line per change elsewhere. */
struct follow {
        const char *program; /* the one followed */
        json_object *status; /* chaird's properties: GetAll's, changed by each PropertiesChanged */
        bool tty;
        char *finished_reason;
        int last_percent_line;
        char *last_phase;
};

static void draw(struct follow *f)
{
        const char *state = json_member_string(f->status, "State"),
                   *phase = json_member_string(f->status, "Phase");
        uint64_t elapsed = json_member_uint(f->status, "ElapsedUSec"),
                 duration = json_member_uint(f->status, "DurationUSec");
        unsigned percent = duration ? (unsigned) (elapsed * 100 / duration) : 0;
        char left[32];
        const unsigned width = 30;

        if (percent > 100)
                percent = 100;
        dur(left, sizeof(left), duration > elapsed ? duration - elapsed : 0);
        if (f->tty) {
                char bar[64];
                unsigned filled = percent * width / 100;
                for (unsigned i = 0; i < width; i++)
                        bar[i] = i < filled ? '#' : '.';
                bar[width] = 0;
                printf("\r\033[K%s [%s] %3u%%  %-8s %-20.20s %s left", f->program, bar, percent, state,
                       *phase ? phase : "-", left);
                fflush(stdout);
                return;
        }
        /* Not a terminal (a log, a pipe): a line when the phase or state changes, and every 10 %. */
        bool phase_changed = !streq_ptr(f->last_phase, phase);
        if (phase_changed || (int) (percent / 10) != f->last_percent_line) {
                printf("%s %3u%%  %-8s %s  %s left\n", f->program, percent, state, *phase ? phase : "-",
                       left);
                fflush(stdout);
                f->last_percent_line = (int) (percent / 10);
                free(f->last_phase);
                f->last_phase = strdup(phase);
        }
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct follow *f = userdata;
        _cleanup_json_ json_object *changed = NULL;
        const char *iface;
        int r = sd_bus_message_read(m, "s", &iface);

        if (r < 0 || !streq(iface, CHAIRD_INTERFACE) || bus_message_read_json(m, &changed) < 0)
                return 0;
        json_object_object_foreach(changed, k, v)
        {
                json_object_object_add(f->status, k, json_object_get(v));
        }
        if (!f->finished_reason && streq(json_member_string(f->status, "Program"), f->program))
                draw(f);
        return 0;
}

static int on_finished(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct follow *f = userdata;
        const char *program, *reason;

        if (sd_bus_message_read(m, "ss", &program, &reason) >= 0 && streq_ptr(program, f->program) &&
            !f->finished_reason)
                f->finished_reason = strdup(reason);
        return 0;
}

/* Runs the bus until *done or a signal; returns 0, or EXIT_NO_DAEMON when the connection goes. */
static int run_until(sd_bus *bus, char *const *done)
{
        while (!interrupted && !*done) {
                int r = sd_bus_process(bus, NULL);
                if (r < 0) {
                        fprintf(stderr, "\nchairctl: lost the connection to chaird: %s\n", strerror(-r));
                        return EXIT_NO_DAEMON;
                }
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0 && r != -EINTR) {
                        fprintf(stderr, "\nchairctl: lost the connection to chaird: %s\n", strerror(-r));
                        return EXIT_NO_DAEMON;
                }
        }
        return 0;
}

int online_follow(sd_bus *bus, const char *program)
{
        struct follow f = {.program = program, .tty = isatty(STDOUT_FILENO), .last_percent_line = -1};
        int r;

        r = sd_bus_match_signal(bus, NULL, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH,
                                "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                on_properties_changed, &f);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH, CHAIRD_INTERFACE,
                                        "Finished", on_finished, &f);
        if (r < 0) {
                fprintf(stderr, "chairctl: cannot subscribe to chaird's signals: %s\n", strerror(-r));
                return EXIT_FAILED;
        }
        r = get_status(bus, &f.status);
        if (r)
                return r;
        if (!streq(json_member_string(f.status, "Program"), program)) { /* it ended before we listened */
                printf("%s ended\n", program);
                json_object_put(f.status);
                return 0;
        }
        draw(&f);
        catch_signals();
        r = run_until(bus, &f.finished_reason);
        if (f.tty)
                printf("\n");
        if (!r && f.finished_reason) {
                printf("%s: %s\n", program, f.finished_reason);
                r = streq(f.finished_reason, "completed") ? 0 : EXIT_NOT_COMPLETED;
        } else if (!r)
                printf("%s goes on running (chairctl stop ends it)\n", program);
        free(f.finished_reason);
        free(f.last_phase);
        json_object_put(f.status);
        return r;
}

static int verb_start(sd_bus *bus, int argc, char *argv[])
{
        static const struct option options[] = {
                {"duration", required_argument, NULL, 'd'},
                {"intensity", required_argument, NULL, 'i'},
                {"follow", no_argument, NULL, 'f'},
                {},
        };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        usec_t duration = 0;
        unsigned long intensity = 0;
        bool follow_it = false;
        const char *reason;
        char *end;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "d:i:f", options, NULL)) >= 0)
                switch (c) {
                case 'd':
                        if (parse_duration(optarg, &duration, &reason) < 0) {
                                fprintf(stderr, "chairctl: --duration: %s (e.g. 15m)\n", reason);
                                return EXIT_USAGE;
                        }
                        break;
                case 'i':
                        errno = 0;
                        intensity = strtoul(optarg, &end, 10);
                        if (errno || *end || end == optarg || intensity == 0 || intensity > UINT32_MAX) {
                                fprintf(stderr, "chairctl: --intensity takes a number (%d-%d), not '%s'\n",
                                        INTENSITY_MIN, INTENSITY_MAX, optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case 'f':
                        follow_it = true;
                        break;
                default:
                        return EXIT_USAGE;
                }
        if (optind + 1 < argc) {
                fprintf(stderr, "chairctl: start takes one program id (none: the profile's program)\n");
                return EXIT_USAGE;
        }
        const char *program = optind < argc ? argv[optind] : "";
        r = online_new_call(bus, "Start", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", program);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && duration)
                r = sd_bus_message_append(m, "{sv}", "duration", "t", (uint64_t) duration);
        if (r >= 0 && intensity)
                r = sd_bus_message_append(m, "{sv}", "intensity", "u", (uint32_t) intensity);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        r = online_send(bus, m, r, NULL);
        if (r || !follow_it)
                return r;
        _cleanup_json_ json_object *started = NULL; /* the profile's, when none was named */
        if (!program[0] && online_get_json(bus, "Program", &started) == 0 &&
            json_object_is_type(started, json_type_string))
                program = json_object_get_string(started);
        return online_follow(bus, program);
}

/* Verbs that call one method without arguments. */
static const struct {
        const char *verb, *method;
} simple[] = {
        {"stop", "Stop"},
        {"pause", "Pause"},
        {"resume", "Resume"},
        {"estop", "EmergencyStop"},
        {"release", "Release"},
        {"reset", "ResetFault"},
        {"reload", "ReloadPrograms"},
};

static int verb_simple(sd_bus *bus, int argc, char *argv[])
{
        if (argc != 1) {
                fprintf(stderr, "chairctl: %s takes no arguments\n", argv[0]);
                return EXIT_USAGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(simple); i++)
                if (streq(argv[0], simple[i].verb))
                        return online_call(bus, NULL, simple[i].method, NULL, NULL);
        return EXIT_USAGE;
}

int bus_open_entry(sd_bus_message *m, const char *key, const char *signature)
{
        int r = sd_bus_message_open_container(m, 'e', "sv");

        if (r >= 0)
                r = sd_bus_message_append(m, "s", key);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', signature);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', signature + 1);
        return r;
}

int bus_close_entry(sd_bus_message *m)
{
        int r = 0;

        for (int i = 0; r >= 0 && i < 3; i++)
                r = sd_bus_message_close_container(m);
        return r;
}

int online_parse_number(const char *s, const char *what, uint32_t *ret)
{
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || *end || end == s || v > UINT32_MAX || s[0] == '-') {
                fprintf(stderr, "chairctl: %s must be a number, not '%s'\n", what, s);
                return EXIT_USAGE;
        }
        *ret = (uint32_t) v;
        return 0;
}

static int verb_recline(sd_bus *bus, int argc, char *argv[])
{
        if (argc != 2) {
                fprintf(stderr, "chairctl: recline takes a preset (e.g. zero-gravity-1, upright)\n");
                return EXIT_USAGE;
        }
        return online_call(bus, NULL, "Recline", NULL, "s", argv[1]);
}

static int verb_heat(sd_bus *bus, int argc, char *argv[])
{
        uint32_t level;
        int r;

        if (argc != 3) {
                fprintf(stderr, "chairctl: heat takes a zone and a level 0-%d\n", HEAT_LEVELS);
                return EXIT_USAGE;
        }
        r = online_parse_number(argv[2], "the heat level", &level);
        return r ? r : online_call(bus, NULL, "SetHeat", NULL, "su", argv[1], level);
}

static int verb_intensity(sd_bus *bus, int argc, char *argv[])
{
        uint32_t level;
        int r;

        if (argc != 2) {
                fprintf(stderr, "chairctl: intensity takes a level %d-%d\n", INTENSITY_MIN, INTENSITY_MAX);
                return EXIT_USAGE;
        }
        r = online_parse_number(argv[1], "the intensity", &level);
        return r ? r : online_call(bus, NULL, "SetIntensity", NULL, "u", level);
}

/* "up" and "down" as a person in the chair sees them: the backrest goes down as it reclines (towards 1.0),
 * the legrest goes up as it extends (towards 1.0). */
static int jog_direction(const char *axis, const char *word)
{
        bool up = streq(word, "up"), down = streq(word, "down");

        if (streq(word, "+") || streq(word, "out"))
                return 1;
        if (streq(word, "-") || streq(word, "in"))
                return -1;
        if (!up && !down)
                return 0;
        if (axis_from_string(axis) == AXIS_BACKREST)
                return up ? -1 : 1;
        return up ? 1 : -1;
}

static int verb_jog(sd_bus *bus, int argc, char *argv[])
{
        static const struct option options[] = {
                {"time", required_argument, NULL, 't'},
                {},
        };
        usec_t hold = 0, start;
        const char *reason;
        int c, r, direction;

        optind = 1;
        while ((c = getopt_long(argc, argv, "t:", options, NULL)) >= 0)
                switch (c) {
                case 't':
                        if (parse_duration(optarg, &hold, &reason) < 0) {
                                fprintf(stderr, "chairctl: --time: %s (e.g. 2s)\n", reason);
                                return EXIT_USAGE;
                        }
                        break;
                default:
                        return EXIT_USAGE;
                }
        if (optind + 2 != argc || !(direction = jog_direction(argv[optind], argv[optind + 1]))) {
                fprintf(stderr, "chairctl: jog takes an axis and up|down (or +|-)\n");
                return EXIT_USAGE;
        }
        /* A dead-man button: the call repeats while held, here until Ctrl-C (or --time); the chair stops
         * 300 ms after the last one by itself. */
        catch_signals();
        start = now_usec();
        if (isatty(STDERR_FILENO) && !hold)
                fprintf(stderr, "Moving %s %s; Ctrl-C stops.\n", argv[optind], argv[optind + 1]);
        do {
                r = online_call(bus, NULL, "Jog", NULL, "si", argv[optind], (int32_t) direction);
                if (r)
                        return r;
                struct timespec ts = {0, (long) JOG_REPEAT_USEC * 1000};
                nanosleep(&ts, NULL);
        } while (!interrupted && (!hold || now_usec() - start < hold));
        return 0;
}

static int verb_lock(sd_bus *bus, int argc, char *argv[])
{
        if (argc != 2 || (!streq(argv[1], "on") && !streq(argv[1], "off"))) {
                fprintf(stderr, "chairctl: lock takes on or off\n");
                return EXIT_USAGE;
        }
        return online_call(bus, PROPERTIES_INTERFACE, "Set", NULL, "ssv", CHAIRD_INTERFACE, "Locked", "b",
                           (int) streq(argv[1], "on"));
}

static int verb_install(sd_bus *bus, int argc, char *argv[])
{
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        FILE *f;

        if (argc != 2) {
                fprintf(stderr, "chairctl: install takes one program file\n");
                return EXIT_USAGE;
        }
        f = fopen(argv[1], "re");
        if (!f) {
                fprintf(stderr, "chairctl: cannot open %s: %m\n", argv[1]);
                return EXIT_FAILED;
        }
        text = malloc(CHAIRD_PROGRAM_TEXT_MAX + 1);
        if (text)
                size = fread(text, 1, CHAIRD_PROGRAM_TEXT_MAX + 1, f);
        fclose(f);
        if (!text)
                return EXIT_FAILED;
        if (size > CHAIRD_PROGRAM_TEXT_MAX) {
                fprintf(stderr, "chairctl: %s is larger than %d bytes\n", argv[1], CHAIRD_PROGRAM_TEXT_MAX);
                return EXIT_FAILED;
        }
        text[size] = 0;
        int r = online_call(bus, NULL, "InstallProgram", NULL, "s", text);
        if (!r)
                printf("Installed %s\n", argv[1]);
        return r;
}

/* monitor: a line per change, until Ctrl-C. */
static int on_monitor_properties(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        const char *iface;
        int r = sd_bus_message_read(m, "s", &iface);

        if (r < 0 || !streq(iface, CHAIRD_INTERFACE))
                return 0;
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                _cleanup_json_ json_object *v = NULL;
                const char *name, *contents;
                char buf[DURATION_MAX_STR];

                r = sd_bus_message_read(m, "s", &name);
                if (r >= 0)
                        r = sd_bus_message_peek_type(m, NULL, &contents);
                if (r >= 0)
                        r = bus_message_read_json(m, &v);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r < 0)
                        break;
                if (global.json) {
                        json_object *o = json_object_new_object();
                        json_object_object_add(o, name, TAKE_PTR(v));
                        json_print(o, "\n");
                        continue;
                }
                printf("%s=", name);
                /* For people: times as durations (ElapsedUSec=1m30s), dictionaries of numbers as "k v, k v",
                 * strings as they are, anything else (Session, Profiles, ...) as its JSON. */
                if (streq(contents, "t") && strstr(name, "USec"))
                        fputs(format_duration(buf, sizeof(buf), json_object_get_uint64(v)), stdout);
                else if (streq(contents, "a{su}") || streq(contents, "a{sd}"))
                        print_dict(v, contents[3] == 'u' ? 0 : 2, "", "");
                else if (streq(contents, "s"))
                        fputs(json_object_get_string(v), stdout);
                else
                        fputs(json_text(v), stdout);
                putchar('\n');
        }
        fflush(stdout);
        return 0;
}

static int on_monitor_finished(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        const char *program, *reason;

        if (sd_bus_message_read(m, "ss", &program, &reason) >= 0) {
                if (global.json) {
                        json_object *o = json_object_new_object(), *f = json_object_new_object();
                        json_object_object_add(f, "program", json_object_new_string(program));
                        json_object_object_add(f, "reason", json_object_new_string(reason));
                        json_object_object_add(o, "Finished", f);
                        json_print(o, "\n");
                } else
                        printf("Finished %s %s\n", program, reason);
                fflush(stdout);
        }
        return 0;
}

static int verb_monitor(sd_bus *bus, int argc, char *argv[])
{
        char *never = NULL;
        int r;

        r = sd_bus_match_signal(bus, NULL, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH,
                                "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                on_monitor_properties, NULL);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH, CHAIRD_INTERFACE,
                                        "Finished", on_monitor_finished, NULL);
        if (r < 0) {
                fprintf(stderr, "chairctl: cannot subscribe to chaird's signals: %s\n", strerror(-r));
                return EXIT_FAILED;
        }
        /* Make sure chaird is there before listening. */
        r = online_call(bus, "org.freedesktop.DBus.Peer", "Ping", NULL, NULL);
        if (r)
                return r;
        catch_signals();
        setvbuf(stdout, NULL, _IOLBF, 0);
        return run_until(bus, &never);
}

static const struct online_verb {
        const char *name;
        int (*run)(sd_bus *bus, int argc, char *argv[]);
} online_verbs[] = {
        {"status", verb_status},     {"list", verb_list},           {"start", verb_start},
        {"stop", verb_simple},       {"pause", verb_simple},        {"resume", verb_simple},
        {"estop", verb_simple},      {"release", verb_simple},      {"reset", verb_simple},
        {"reload", verb_simple},     {"recline", verb_recline},     {"jog", verb_jog},
        {"heat", verb_heat},         {"intensity", verb_intensity}, {"monitor", verb_monitor},
        {"install", verb_install},   {"lock", verb_lock},           {"names", verb_names},
        {"manual", verb_manual},     {"adjust", verb_adjust},       {"shoulders", verb_shoulders},
        {"history", verb_history},   {"usage", verb_usage},         {"profile", verb_profile},
        {"position", verb_position},
};

bool is_online_verb(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(online_verbs); i++)
                if (streq(online_verbs[i].name, name))
                        return true;
        return false;
}

int run_online_verb(int argc, char *argv[])
{
        sd_bus *bus = NULL;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(online_verbs); i++) {
                if (!streq(online_verbs[i].name, argv[0]))
                        continue;
                r = connect_bus(&bus);
                if (r)
                        return r;
                r = online_verbs[i].run(bus, argc, argv);
                sd_bus_flush_close_unref(bus);
                return r;
        }
        return EXIT_USAGE;
}
