/* online.c: chairctl's verbs that talk to chaird over D-Bus. */
#include <errno.h>
#include <getopt.h>
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

/* Calls a method of the main object; prints the error and returns an exit status on failure. */
static int call(sd_bus *bus, const char *method, sd_bus_message **reply, const char *types, ...)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH, CHAIRD_INTERFACE,
                                           method);
        if (r >= 0 && types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
        }
        if (r >= 0)
                r = sd_bus_call(bus, m, 0, &error, reply);
        if (r < 0) {
                r = online_report(&error, r);
                sd_bus_error_free(&error);
                return r;
        }
        return 0;
}

/* Properties, read into one struct for printing. */
struct status {
        char *state, *program, *phase, *recline, *fault, *fault_message, *profile;
        uint64_t elapsed, duration;
        uint32_t intensity, shoulders;
        json_object *session; /* the Session a{sv}, {} when idle */
        int locked;
        char *heat, *temperatures, *positions;                       /* "k v, k v" for people */
        json_object *heat_json, *temperatures_json, *positions_json; /* the same as JSON objects */
};

static void status_done(struct status *s)
{
        free(s->state);
        free(s->program);
        free(s->phase);
        free(s->recline);
        free(s->fault);
        free(s->fault_message);
        free(s->heat);
        free(s->temperatures);
        free(s->positions);
        free(s->profile);
        json_object_put(s->session);
        json_object_put(s->heat_json);
        json_object_put(s->temperatures_json);
        json_object_put(s->positions_json);
}

static int read_string(sd_bus_message *m, char **dest)
{
        const char *v;
        int r = sd_bus_message_read(m, "v", "s", &v);
        if (r < 0)
                return r;
        free(*dest);
        *dest = strdup(v);
        return *dest ? 0 : -ENOMEM;
}

/* A dictionary a{su} or a{sd} as "k v, k v" (*text) and as a JSON object (*json), each replacing what was
 * there. */
static int read_dict(sd_bus_message *m, char type, int decimals, const char *unit, char **text,
                     json_object **json)
{
        char sig[8] = {'a', '{', 's', type, '}', 0};
        _cleanup_free_ char *buf = NULL;
        json_object *o = json_object_new_object();
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        bool first = true;
        int r = o && f ? 0 : -ENOMEM;

        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'v', sig);
        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'a', sig + 1);
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', (char[]){'s', type, 0})) > 0) {
                const char *k;
                double dv = 0;
                uint32_t uv = 0;
                r = type == 'u' ? sd_bus_message_read(m, "su", &k, &uv)
                                : sd_bus_message_read(m, "sd", &k, &dv);
                if (r < 0)
                        break;
                fprintf(f, "%s%s %.*f%s", first ? "" : ", ", k, decimals, type == 'u' ? (double) uv : dv,
                        unit);
                first = false;
                /* Written as a person would, not as json-c's %.17g would (21.3, not 21.300000000000001). */
                char num[32];
                snprintf(num, sizeof(num), "%g", dv);
                r = json_object_object_add(
                        o, k, type == 'u' ? json_object_new_int64(uv) : json_object_new_double_s(dv, num));
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (f && fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0) {
                json_object_put(o);
                return r;
        }
        free(*text);
        *text = TAKE_PTR(buf);
        json_object_put(*json);
        *json = o;
        return 0;
}

/* Reads an a{sv} of the main interface's properties (GetAll's reply or PropertiesChanged's second argument)
 * into s; returns a bit per known property read. */
static int read_properties(sd_bus_message *m, struct status *s, unsigned *ret_seen)
{
        unsigned seen = 0;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *name;
                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                if (streq(name, "State"))
                        r = read_string(m, &s->state), seen |= 1u << 0;
                else if (streq(name, "Program"))
                        r = read_string(m, &s->program), seen |= 1u << 1;
                else if (streq(name, "Phase"))
                        r = read_string(m, &s->phase), seen |= 1u << 2;
                else if (streq(name, "Recline"))
                        r = read_string(m, &s->recline);
                else if (streq(name, "Fault"))
                        r = read_string(m, &s->fault), seen |= 1u << 3;
                else if (streq(name, "FaultMessage"))
                        r = read_string(m, &s->fault_message);
                else if (streq(name, "ElapsedUSec"))
                        r = sd_bus_message_read(m, "v", "t", &s->elapsed), seen |= 1u << 4;
                else if (streq(name, "DurationUSec"))
                        r = sd_bus_message_read(m, "v", "t", &s->duration);
                else if (streq(name, "Intensity"))
                        r = sd_bus_message_read(m, "v", "u", &s->intensity);
                else if (streq(name, "Locked"))
                        r = sd_bus_message_read(m, "v", "b", &s->locked);
                else if (streq(name, "Heat"))
                        r = read_dict(m, 'u', 0, "", &s->heat, &s->heat_json);
                else if (streq(name, "Temperatures"))
                        r = read_dict(m, 'd', 1, " C", &s->temperatures, &s->temperatures_json);
                else if (streq(name, "Positions"))
                        r = read_dict(m, 'd', 2, "", &s->positions, &s->positions_json);
                else if (streq(name, "Profile"))
                        r = read_string(m, &s->profile);
                else if (streq(name, "Shoulders"))
                        r = sd_bus_message_read(m, "v", "u", &s->shoulders);
                else if (streq(name, "Session")) {
                        json_object_put(s->session);
                        s->session = NULL;
                        r = bus_message_read_json(m, &s->session);
                } else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        if (ret_seen)
                *ret_seen = seen;
        return sd_bus_message_exit_container(m);
}

static int get_status(sd_bus *bus, struct status *s)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH, "org.freedesktop.DBus.Properties",
                               "GetAll", &error, &reply, "s", CHAIRD_INTERFACE);
        if (r < 0) {
                r = online_report(&error, r);
                sd_bus_error_free(&error);
                return r;
        }
        r = read_properties(reply, s, NULL);
        if (r < 0) {
                fprintf(stderr, "chairctl: cannot read chaird's answer: %s\n", strerror(-r));
                return EXIT_FAILED;
        }
        return 0;
}

void json_print(json_object *o, const char *after)
{
        fputs(o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                : "null",
              stdout);
        fputs(after, stdout);
        json_object_put(o);
}

json_object *json_string_or_empty(const char *s)
{
        return json_object_new_string(s ?: "");
}

/* A borrowed object, as an owned one for json_object_object_add(). */
static json_object *json_copy(json_object *o)
{
        return o ? json_object_get(o) : json_object_new_object();
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

static int verb_status(sd_bus *bus, int argc, char *argv[])
{
        struct status s = {};
        char a[32], b[32];
        int r = get_status(bus, &s);

        if (r)
                return r;
        if (global.json) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "State", json_string_or_empty(s.state));
                json_object_object_add(o, "Program", json_string_or_empty(s.program));
                json_object_object_add(o, "Phase", json_string_or_empty(s.phase));
                json_object_object_add(o, "ElapsedUSec", json_object_new_uint64(s.elapsed));
                json_object_object_add(o, "DurationUSec", json_object_new_uint64(s.duration));
                json_object_object_add(o, "Intensity", json_object_new_int64(s.intensity));
                json_object_object_add(o, "Recline", json_string_or_empty(s.recline));
                json_object_object_add(o, "Heat", json_copy(s.heat_json));
                json_object_object_add(o, "Temperatures", json_copy(s.temperatures_json));
                json_object_object_add(o, "Positions", json_copy(s.positions_json));
                json_object_object_add(o, "Fault", json_string_or_empty(s.fault));
                json_object_object_add(o, "FaultMessage", json_string_or_empty(s.fault_message));
                json_object_object_add(o, "Locked", json_object_new_boolean(s.locked));
                json_object_object_add(o, "Profile", json_string_or_empty(s.profile));
                json_object_object_add(o, "Shoulders", json_object_new_int64(s.shoulders));
                json_object_object_add(o, "Session", json_copy(s.session));
                json_print(o, "\n");
        } else {
                printf("State:        %s\n", s.state);
                if (s.program && *s.program) {
                        json_object *adjust = NULL;
                        char c[32];
                        printf("Program:      %s, phase %s, %s of %s (%s left)\n", s.program,
                               *s.phase ? s.phase : "-", dur(a, sizeof(a), s.elapsed),
                               dur(b, sizeof(b), s.duration),
                               dur(c, sizeof(c), s.duration > s.elapsed ? s.duration - s.elapsed : 0));
                        if (s.session && json_object_object_get_ex(s.session, "adjustments", &adjust) &&
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
                printf("Profile:      %s\n", s.profile && *s.profile ? s.profile : "-");
                if (s.shoulders)
                        printf("Shoulders:    %u mm\n", s.shoulders);
                printf("Intensity:    %u\n", s.intensity);
                printf("Recline:      %s\n", s.recline && *s.recline ? s.recline : "-");
                printf("Heat:         %s\n", s.heat && *s.heat ? s.heat : "-");
                printf("Temperatures: %s\n", s.temperatures && *s.temperatures ? s.temperatures : "-");
                printf("Positions:    %s\n", s.positions && *s.positions ? s.positions : "-");
                printf("Fault:        %s%s%s\n", s.fault && *s.fault ? s.fault : "none",
                       s.fault && *s.fault ? ": " : "", s.fault && *s.fault ? s.fault_message : "");
                printf("Locked:       %s\n", s.locked ? "yes" : "no");
        }
        status_done(&s);
        return 0;
}

/* Ends a list printed from chaird's answer: the JSON list (list, NULL without --json), and the exit status
 * of reading it. */
static int list_end(int r, json_object *list)
{
        if (global.json)
                json_print(list, "\n");
        if (r < 0) {
                fprintf(stderr, "chairctl: cannot read chaird's answer: %s\n", strerror(-r));
                return EXIT_FAILED;
        }
        return 0;
}

/* The programs chaird offers: a table, JSON objects, or with ids_only one id per line (a JSON list of ids).
 */
static int list_programs(sd_bus *bus, bool ids_only)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        json_object *list = global.json ? json_object_new_array() : NULL;
        int r;

        r = sd_bus_call_method(bus, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH,
                               "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", &error, &reply,
                               NULL);
        if (r < 0) {
                r = online_report(&error, r);
                sd_bus_error_free(&error);
                json_object_put(list);
                return r;
        }
        if (!global.json && !ids_only)
                printf("%-20s %8s  %s\n", "ID", "DURATION", "NAME");
        r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
                const char *path;
                r = sd_bus_message_read(reply, "o", &path);
                if (r >= 0)
                        r = sd_bus_message_enter_container(reply, 'a', "{sa{sv}}");
                while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sa{sv}")) > 0) {
                        const char *iface, *id = "", *name = "", *description = "", *file = "";
                        uint64_t duration = 0;
                        r = sd_bus_message_read(reply, "s", &iface);
                        if (r >= 0 && !streq(iface, CHAIRD_PROGRAM_INTERFACE))
                                r = sd_bus_message_skip(reply, "a{sv}");
                        else if (r >= 0) {
                                r = sd_bus_message_enter_container(reply, 'a', "{sv}");
                                while (r >= 0 &&
                                       (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                                        const char *k;
                                        r = sd_bus_message_read(reply, "s", &k);
                                        if (r < 0)
                                                break;
                                        if (streq(k, "Id"))
                                                r = sd_bus_message_read(reply, "v", "s", &id);
                                        else if (streq(k, "Name"))
                                                r = sd_bus_message_read(reply, "v", "s", &name);
                                        else if (streq(k, "Description"))
                                                r = sd_bus_message_read(reply, "v", "s", &description);
                                        else if (streq(k, "Path"))
                                                r = sd_bus_message_read(reply, "v", "s", &file);
                                        else if (streq(k, "DurationUSec"))
                                                r = sd_bus_message_read(reply, "v", "t", &duration);
                                        else
                                                r = sd_bus_message_skip(reply, "v");
                                        if (r >= 0)
                                                r = sd_bus_message_exit_container(reply);
                                }
                                if (r >= 0)
                                        r = sd_bus_message_exit_container(reply);
                                if (r >= 0 && ids_only) {
                                        if (global.json)
                                                json_object_array_add(list, json_object_new_string(id));
                                        else
                                                printf("%s\n", id);
                                } else if (r >= 0 && global.json) {
                                        json_object *o = json_object_new_object();
                                        json_object_object_add(o, "Id", json_object_new_string(id));
                                        json_object_object_add(o, "Name", json_object_new_string(name));
                                        json_object_object_add(o, "Description",
                                                               json_object_new_string(description));
                                        json_object_object_add(o, "DurationUSec",
                                                               json_object_new_uint64(duration));
                                        json_object_object_add(o, "Path", json_object_new_string(file));
                                        json_object_array_add(list, o);
                                } else if (r >= 0) {
                                        char buf[32];
                                        printf("%-20s %8s  %s\n", id, dur(buf, sizeof(buf), duration), name);
                                }
                        }
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        return list_end(r, list);
}

static int verb_list(sd_bus *bus, int argc, char *argv[])
{
        return list_programs(bus, false);
}

/* One name per line (a JSON list with --json): an array of strings, or the keys of a dictionary. */
static int print_names(sd_bus *bus, const char *property, const char *type, const char *skip)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        bool dict = type[1] == '{';
        json_object *list = global.json ? json_object_new_array() : NULL;
        char entry[8];
        int r;

        r = sd_bus_get_property(bus, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH, CHAIRD_INTERFACE, property, &error,
                                &reply, type);
        if (r < 0) {
                r = online_report(&error, r);
                sd_bus_error_free(&error);
                json_object_put(list);
                return r;
        }
        snprintf(entry, sizeof(entry), "%.*s", (int) strlen(type) - 3, type + 2); /* "a{su}" -> "su" */
        r = sd_bus_message_enter_container(reply, 'a', type + 1);
        while (r >= 0) {
                const char *name;
                if (dict) {
                        r = sd_bus_message_enter_container(reply, 'e', entry);
                        if (r <= 0)
                                break;
                }
                r = sd_bus_message_read(reply, "s", &name);
                if (r <= 0)
                        break;
                if (dict && (r = sd_bus_message_skip(reply, entry + 1)) >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0 || streq_ptr(name, skip))
                        continue;
                if (global.json)
                        json_object_array_add(list, json_object_new_string(name));
                else
                        printf("%s\n", name);
        }
        return list_end(r, list);
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
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_json_ json_object *caps = NULL;
        json_object *l = NULL;
        int r;

        r = sd_bus_get_property(bus, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH, CHAIRD_INTERFACE, "Capabilities",
                                &error, &reply, "a{sv}");
        if (r < 0) {
                r = online_report(&error, r);
                sd_bus_error_free(&error);
                return r;
        }
        r = bus_message_read_json(reply, &caps);
        if (r < 0 || !json_object_object_get_ex(caps, key, &l))
                return list_end(r < 0 ? r : -EBADMSG, NULL);
        if (global.json)
                return list_end(0, json_object_get(l));
        for (size_t i = 0; i < json_object_array_length(l); i++)
                printf("%s\n", json_object_get_string(json_object_array_get_idx(l, i)));
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
                return print_names(bus, "Presets", "as", NULL);
        if (streq(argv[1], "zones"))
                return print_names(bus, "Heat", "a{su}", NULL);
        if (streq(argv[1], "axes"))
                return print_names(bus, "Positions", "a{sd}", "roller");
        if (streq(argv[1], "profiles"))
                return print_names(bus, "Profiles", "as", NULL);
        for (size_t i = 0; i < ELEMENTSOF(capability_names); i++)
                if (streq(argv[1], capability_names[i]))
                        return print_capability(bus, argv[1]);
        fprintf(stderr, "chairctl: names takes one of: " NAMES_KINDS "; not \"%s\"\n", argv[1]);
        return EXIT_USAGE;
}

/* Follows a running program until it finishes: a progress bar on a terminal, a line per change elsewhere. */
struct follow {
        const char *program; /* the one followed */
        struct status s;
        bool tty;
        char *finished_reason;
        int last_percent_line;
        char *last_phase;
};

static void draw(struct follow *f)
{
        struct status *s = &f->s;
        unsigned percent = s->duration ? (unsigned) (s->elapsed * 100 / s->duration) : 0;
        char left[32];
        const unsigned width = 30;

        if (percent > 100)
                percent = 100;
        dur(left, sizeof(left), s->duration > s->elapsed ? s->duration - s->elapsed : 0);
        if (f->tty) {
                char bar[64];
                unsigned filled = percent * width / 100;
                for (unsigned i = 0; i < width; i++)
                        bar[i] = i < filled ? '#' : '.';
                bar[width] = 0;
                printf("\r\033[K%s [%s] %3u%%  %-8s %-20.20s %s left", f->program, bar, percent,
                       s->state ?: "", s->phase && *s->phase ? s->phase : "-", left);
                fflush(stdout);
                return;
        }
        /* Not a terminal (a log, a pipe): a line when the phase or state changes, and every 10 %. */
        bool phase_changed = !streq_ptr(f->last_phase, s->phase);
        if (phase_changed || (int) (percent / 10) != f->last_percent_line) {
                printf("%s %3u%%  %-8s %s  %s left\n", f->program, percent, s->state ?: "",
                       s->phase && *s->phase ? s->phase : "-", left);
                fflush(stdout);
                f->last_percent_line = (int) (percent / 10);
                free(f->last_phase);
                f->last_phase = s->phase ? strdup(s->phase) : NULL;
        }
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct follow *f = userdata;
        const char *iface;
        int r = sd_bus_message_read(m, "s", &iface);

        if (r < 0 || !streq(iface, CHAIRD_INTERFACE))
                return 0;
        if (read_properties(m, &f->s, NULL) >= 0 && !f->finished_reason &&
            streq_ptr(f->s.program, f->program))
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
        r = get_status(bus, &f.s);
        if (r)
                return r;
        if (!streq_ptr(f.s.program, program)) { /* it ended before we listened */
                printf("%s ended\n", program);
                status_done(&f.s);
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
        status_done(&f.s);
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
        sd_bus_error error = SD_BUS_ERROR_NULL;
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
        r = sd_bus_message_new_method_call(bus, &m, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH, CHAIRD_INTERFACE,
                                           "Start");
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
        if (r >= 0)
                r = sd_bus_call(bus, m, 0, &error, NULL);
        if (r < 0) {
                r = online_report(&error, r);
                sd_bus_error_free(&error);
                return r;
        }
        if (!follow_it)
                return 0;
        _cleanup_free_ char *started = NULL; /* the profile's, when none was named */
        if (!program[0] && sd_bus_get_property_string(bus, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH,
                                                      CHAIRD_INTERFACE, "Program", NULL, &started) >= 0)
                program = started;
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
                        return call(bus, simple[i].method, NULL, NULL);
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
        return call(bus, "Recline", NULL, "s", argv[1]);
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
        return r ? r : call(bus, "SetHeat", NULL, "su", argv[1], level);
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
        return r ? r : call(bus, "SetIntensity", NULL, "u", level);
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
                r = call(bus, "Jog", NULL, "si", argv[optind], (int32_t) direction);
                if (r)
                        return r;
                struct timespec ts = {0, (long) JOG_REPEAT_USEC * 1000};
                nanosleep(&ts, NULL);
        } while (!interrupted && (!hold || now_usec() - start < hold));
        return 0;
}

static int verb_lock(sd_bus *bus, int argc, char *argv[])
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (argc != 2 || (!streq(argv[1], "on") && !streq(argv[1], "off"))) {
                fprintf(stderr, "chairctl: lock takes on or off\n");
                return EXIT_USAGE;
        }
        r = sd_bus_set_property(bus, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH, CHAIRD_INTERFACE, "Locked", &error,
                                "b", streq(argv[1], "on"));
        if (r < 0) {
                r = online_report(&error, r);
                sd_bus_error_free(&error);
                return r;
        }
        return 0;
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
        int r = call(bus, "InstallProgram", NULL, "s", text);
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
                const char *name, *contents;
                json_object *o = json_object_new_object(), *v = NULL;
                _cleanup_free_ char *text = NULL;

                r = sd_bus_message_read(m, "s", &name);
                if (r >= 0)
                        r = sd_bus_message_peek_type(m, NULL, &contents);
                if (r < 0) {
                        json_object_put(o);
                        break;
                }
                if (streq(contents, "s")) {
                        const char *sv;
                        r = sd_bus_message_read(m, "v", "s", &sv);
                        if (r >= 0) {
                                v = json_object_new_string(sv);
                                text = strdup(sv);
                        }
                } else if (streq(contents, "t") || streq(contents, "u") || streq(contents, "b")) {
                        uint64_t t = 0;
                        uint32_t u = 0;
                        int b = 0;
                        r = contents[0] == 't'   ? sd_bus_message_read(m, "v", "t", &t)
                            : contents[0] == 'u' ? sd_bus_message_read(m, "v", "u", &u)
                                                 : sd_bus_message_read(m, "v", "b", &b);
                        if (r >= 0 && contents[0] == 'b') {
                                v = json_object_new_boolean(b);
                                text = strdup(b ? "true" : "false");
                        } else if (r >= 0) {
                                char buf[DURATION_MAX_STR];
                                v = json_object_new_uint64(contents[0] == 't' ? t : u);
                                /* Times for people: ElapsedUSec=1m30s, not microseconds. */
                                if (contents[0] == 't' && strstr(name, "USec"))
                                        text = strdup(format_duration(buf, sizeof(buf), t));
                                else if (asprintf(&text, "%llu",
                                                  (unsigned long long) (contents[0] == 't' ? t : u)) < 0)
                                        text = NULL;
                        }
                } else if (streq(contents, "a{su}") || streq(contents, "a{sd}"))
                        r = read_dict(m, contents[3], contents[3] == 'u' ? 0 : 2, "", &text, &v);
                else {
                        /* Anything else (Session, Profiles, ...) as its JSON. */
                        r = bus_message_read_json(m, &v);
                        if (r >= 0)
                                text = strdup(json_text(v));
                }
                if (r >= 0 && v) {
                        if (global.json) {
                                json_object_object_add(o, name, TAKE_PTR(v));
                                json_print(TAKE_PTR(o), "\n");
                        } else
                                printf("%s=%s\n", name, text ?: "");
                }
                json_object_put(v);
                json_object_put(o);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
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
        sd_bus_error error = SD_BUS_ERROR_NULL;
        r = sd_bus_call_method(bus, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH, "org.freedesktop.DBus.Peer", "Ping",
                               &error, NULL, NULL);
        if (r < 0) {
                r = online_report(&error, r);
                sd_bus_error_free(&error);
                return r;
        }
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
