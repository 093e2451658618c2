/* remote.c: chairctl's verbs for what a chair's remote offers besides programs: manual mode, live
 * adjustment, the shoulder position. */
#include <errno.h>
#include <inttypes.h>
#include <getopt.h>
#include <stdio.h>
#include <systemd/sd-bus.h>

#include "chairctl.h"

#define HEAT_CHOICES_MAX 16

/* What the command line chose; NULL or 0: not given. */
struct choices {
        const char *technique, *pattern, *area, *from, *to, *width, *airbags, *airbag_pattern, *recline;
        uint32_t speed, depth, airbag_intensity, foot;
        bool foot_given, follow, reset;
        struct {
                const char *zone;
                uint32_t level;
        } heat[HEAT_CHOICES_MAX];
        size_t n_heat;
        usec_t duration;
};

static const struct option choice_options[] = {
        {"technique", required_argument, NULL, 't'},
        {"pattern", required_argument, NULL, 'p'},
        {"area", required_argument, NULL, 'a'},
        {"from", required_argument, NULL, 'F'},
        {"to", required_argument, NULL, 'T'},
        {"speed", required_argument, NULL, 's'},
        {"width", required_argument, NULL, 'w'},
        {"depth", required_argument, NULL, 'D'},
        {"airbags", required_argument, NULL, 'b'},
        {"airbag-pattern", required_argument, NULL, 'P'},
        {"airbag-intensity", required_argument, NULL, 'I'},
        {"heat", required_argument, NULL, 'H'},
        {"foot-rollers", required_argument, NULL, 'o'},
        {"recline", required_argument, NULL, 'r'},
        {"duration", required_argument, NULL, 'd'},
        {"follow", no_argument, NULL, 'f'},
        {"reset", no_argument, NULL, 'R'},
        {},
};

static int parse_heat_choice(struct choices *c, char *arg)
{
        char *eq = strchr(arg, '=');

        if (!eq || eq == arg) {
                fprintf(stderr, "chairctl: --heat takes ZONE=LEVEL, e.g. lumbar=2, not '%s'\n", arg);
                return EXIT_USAGE;
        }
        if (c->n_heat == HEAT_CHOICES_MAX) {
                fprintf(stderr, "chairctl: --heat given more than %d times\n", HEAT_CHOICES_MAX);
                return EXIT_USAGE;
        }
        *eq = 0;
        c->heat[c->n_heat].zone = arg;
        if (online_parse_number(eq + 1, "the heat level", &c->heat[c->n_heat].level))
                return EXIT_USAGE;
        c->n_heat++;
        return 0;
}

/* Reads the options of manual or adjust; the verb refuses those it does not take. */
static int parse_choices(int argc, char *argv[], const char *refused, struct choices *c)
{
        const char *reason;
        int opt;

        optind = 1;
        while ((opt = getopt_long(argc, argv, "", choice_options, NULL)) >= 0) {
                if (opt == '?')
                        return EXIT_USAGE;
                if (strchr(refused, opt)) {
                        fprintf(stderr, "chairctl: %s does not take %s\n", argv[0], argv[optind - 1]);
                        return EXIT_USAGE;
                }
                switch (opt) {
                case 't':
                        c->technique = optarg;
                        break;
                case 'p':
                        c->pattern = optarg;
                        break;
                case 'a':
                        c->area = optarg;
                        break;
                case 'F':
                        c->from = optarg;
                        break;
                case 'T':
                        c->to = optarg;
                        break;
                case 'w':
                        c->width = optarg;
                        break;
                case 'b':
                        c->airbags = optarg;
                        break;
                case 'P':
                        c->airbag_pattern = optarg;
                        break;
                case 'r':
                        c->recline = optarg;
                        break;
                case 's':
                        if (online_parse_number(optarg, "--speed", &c->speed))
                                return EXIT_USAGE;
                        break;
                case 'D':
                        if (online_parse_number(optarg, "--depth", &c->depth))
                                return EXIT_USAGE;
                        break;
                case 'I':
                        if (online_parse_number(optarg, "--airbag-intensity", &c->airbag_intensity))
                                return EXIT_USAGE;
                        break;
                case 'o':
                        if (online_parse_number(optarg, "--foot-rollers", &c->foot))
                                return EXIT_USAGE;
                        c->foot_given = true;
                        break;
                case 'H':
                        if (parse_heat_choice(c, optarg))
                                return EXIT_USAGE;
                        break;
                case 'd':
                        if (parse_duration(optarg, &c->duration, &reason) < 0) {
                                fprintf(stderr, "chairctl: --duration: %s (e.g. 15m)\n", reason);
                                return EXIT_USAGE;
                        }
                        break;
                case 'f':
                        c->follow = true;
                        break;
                case 'R':
                        c->reset = true;
                        break;
                default:
                        return EXIT_USAGE;
                }
        }
        if (optind != argc) {
                fprintf(stderr, "chairctl: %s takes options only, not '%s'\n", argv[0], argv[optind]);
                return EXIT_USAGE;
        }
        return 0;
}

static int append_s(sd_bus_message *m, const char *key, const char *value)
{
        return value ? sd_bus_message_append(m, "{sv}", key, "s", value) : 0;
}

static int append_u(sd_bus_message *m, const char *key, uint32_t value, bool given)
{
        return given ? sd_bus_message_append(m, "{sv}", key, "u", value) : 0;
}

/* A dictionary entry whose value is an a{sv} of the given entries. */
static int open_dict(sd_bus_message *m, const char *key)
{
        return bus_open_entry(m, key, "a{sv}");
}

static int close_dict(sd_bus_message *m)
{
        return bus_close_entry(m);
}

/* --airbags a,b,c as an as. */
static int append_zones(sd_bus_message *m, const char *list)
{
        _cleanup_free_ char *copy = strdup(list);
        char *save = NULL;
        int r;

        if (!copy)
                return -ENOMEM;
        r = bus_open_entry(m, "zones", "as");
        for (char *z = strtok_r(copy, ",", &save); r >= 0 && z; z = strtok_r(NULL, ",", &save))
                r = sd_bus_message_append(m, "s", z);
        return r < 0 ? r : bus_close_entry(m);
}

static int append_heat(sd_bus_message *m, const struct choices *c)
{
        int r;

        if (c->n_heat == 0)
                return 0;
        r = bus_open_entry(m, "heat", "a{su}");
        for (size_t i = 0; r >= 0 && i < c->n_heat; i++)
                r = sd_bus_message_append(m, "{su}", c->heat[i].zone, c->heat[i].level);
        return r < 0 ? r : bus_close_entry(m);
}

/* Where the roller works and how: the roller's keys in StartManual, Adjust's own in manual mode. */
static int append_roller_place(sd_bus_message *m, const struct choices *c)
{
        int r = append_s(m, "area", c->area);

        if (r >= 0)
                r = append_s(m, "from", c->from);
        if (r >= 0)
                r = append_s(m, "to", c->to);
        if (r >= 0)
                r = append_u(m, "speed", c->speed, c->speed);
        if (r >= 0)
                r = append_s(m, "width", c->width);
        if (r >= 0)
                r = append_u(m, "depth", c->depth, c->depth);
        return r;
}

/* The keys of StartManual. In manual mode, Adjust takes the same, except that the roller's speed, width,
 * depth and area, and the airbags' intensity, go as Adjust's own keys (live). */
static int append_choices(sd_bus_message *m, const struct choices *c, bool adjust)
{
        bool roller_keys = c->technique || c->pattern ||
                           (!adjust && (c->area || c->from || c->to || c->width || c->speed || c->depth));
        bool airbag_keys = c->airbags || c->airbag_pattern || (!adjust && c->airbag_intensity);
        int r = 0;

        if (roller_keys) {
                r = open_dict(m, "roller");
                if (r >= 0)
                        r = append_s(m, "technique", c->technique);
                if (r >= 0)
                        r = append_s(m, "pattern", c->pattern);
                if (r >= 0 && !adjust)
                        r = append_roller_place(m, c);
                if (r >= 0)
                        r = close_dict(m);
        }
        if (r >= 0 && airbag_keys) {
                r = open_dict(m, "airbags");
                if (r >= 0 && c->airbags)
                        r = append_zones(m, c->airbags);
                if (r >= 0)
                        r = append_s(m, "pattern", c->airbag_pattern);
                if (r >= 0 && !adjust)
                        r = append_u(m, "intensity", c->airbag_intensity, c->airbag_intensity);
                if (r >= 0)
                        r = close_dict(m);
        }
        if (r >= 0 && adjust) {
                r = append_roller_place(m, c);
                if (r >= 0)
                        r = append_u(m, "airbag-intensity", c->airbag_intensity, c->airbag_intensity);
                if (r >= 0 && c->reset)
                        r = sd_bus_message_append(m, "{sv}", "reset", "b", 1);
        }
        if (r >= 0)
                r = append_heat(m, c);
        if (r >= 0)
                r = append_u(m, "foot-rollers", c->foot, c->foot_given);
        if (r >= 0)
                r = append_s(m, "recline", c->recline);
        if (r >= 0 && c->duration)
                r = sd_bus_message_append(m, "{sv}", "duration", "t", (uint64_t) c->duration);
        return r;
}

static int call_with_choices(sd_bus *bus, const char *method, const struct choices *c, bool adjust)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = online_new_call(bus, method, &m);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = append_choices(m, c, adjust);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return online_send(bus, m, r, NULL);
}

int verb_manual(sd_bus *bus, int argc, char *argv[])
{
        struct choices c = {};
        int r = parse_choices(argc, argv, "R", &c);

        if (r)
                return r;
        r = call_with_choices(bus, "StartManual", &c, false);
        if (r)
                return r;
        if (c.follow)
                return online_follow(bus, "manual");
        if (!global.json)
                printf("Manual session started\n");
        return 0;
}

int verb_adjust(sd_bus *bus, int argc, char *argv[])
{
        struct choices c = {};
        int r = parse_choices(argc, argv, "f", &c);

        if (r)
                return r;
        if (argc < 2) {
                fprintf(stderr, "chairctl: adjust needs at least one option (chairctl adjust --help)\n");
                return EXIT_USAGE;
        }
        r = call_with_choices(bus, "Adjust", &c, true);
        if (r == 0 && !global.json)
                printf(c.reset ? "Adjustments cleared: the program's own settings\n" : "Adjusted\n");
        return r;
}

int verb_shoulders(sd_bus *bus, int argc, char *argv[])
{
        _cleanup_json_ json_object *mm = NULL;
        char *end;
        long offset;
        int r;

        if (argc > 2) {
                fprintf(stderr, "chairctl: shoulders takes at most one offset, e.g. +20 or -15\n");
                return EXIT_USAGE;
        }
        if (argc == 2) {
                errno = 0;
                offset = strtol(argv[1], &end, 10);
                if (errno || *end || end == argv[1] || offset < INT32_MIN || offset > INT32_MAX) {
                        fprintf(stderr,
                                "chairctl: the offset is millimetres, e.g. +20 (down) or -15 (up), not "
                                "'%s'\n",
                                argv[1]);
                        return EXIT_USAGE;
                }
                r = online_call(bus, NULL, "AdjustShoulders", NULL, "i", (int32_t) offset);
                if (r)
                        return r;
        }
        r = online_get_json(bus, "Shoulders", &mm);
        if (r)
                return r;
        if (global.json) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "shoulders_mm", json_object_get(mm));
                json_print(o, "\n");
        } else
                printf("shoulders at %" PRIu64 " mm from the top of the track\n",
                       json_object_get_uint64(mm));
        return 0;
}
