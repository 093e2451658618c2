/* profiles.c: chairctl profile and position: a person's memory on the chair (favourites, intensity, heat,
 * the shoulder offset, a program, saved recline positions). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chairctl.h"

#define PROFILE_CHOICES_MAX 32

static int list(sd_bus *bus)
{
        _cleanup_json_ json_object *selected = NULL, *names = NULL;
        int r;

        r = online_get_json(bus, "Profile", &selected);
        if (!r)
                r = online_get_json(bus, "Profiles", &names);
        if (r)
                return r;
        if (global.json) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "profiles", json_object_get(names));
                json_object_object_add(o, "selected", json_object_get(selected));
                json_print(o, "\n");
                return 0;
        }
        for (size_t i = 0; i < json_object_array_length(names); i++) {
                const char *name = json_object_get_string(json_object_array_get_idx(names, i));
                printf("%s %s\n", streq(name, json_object_get_string(selected)) ? "*" : " ", name);
        }
        return 0;
}

static int show(sd_bus *bus, const char *name)
{
        json_object *o, *v;
        int r;

        /* GetProfile's reply as JSON, the keys as chaird sends them. */
        r = online_call_json(bus, NULL, "GetProfile", &o, "s", name);
        if (r)
                return r;
        if (global.json) {
                json_print(o, "\n");
                return 0;
        }
        printf("Profile:         %s\n", name);
        if (json_object_object_get_ex(o, "program", &v))
                printf("Program:         %s\n",
                       *json_object_get_string(v) ? json_object_get_string(v) : "-");
        if (json_object_object_get_ex(o, "intensity", &v))
                printf("Intensity:       %s\n", json_object_get_int(v) ? json_object_get_string(v) : "-");
        if (json_object_object_get_ex(o, "shoulder-offset", &v))
                printf("Shoulder offset: %+d mm\n", json_object_get_int(v));
        if (json_object_object_get_ex(o, "favourites", &v)) {
                printf("Favourites:     ");
                for (size_t i = 0; i < json_object_array_length(v); i++)
                        printf(" %s", json_object_get_string(json_object_array_get_idx(v, i)));
                printf("%s\n", json_object_array_length(v) ? "" : " -");
        }
        if (json_object_object_get_ex(o, "heat", &v)) {
                bool any = false;
                printf("Heat:           ");
                json_object_object_foreach(v, zone, level)
                {
                        printf(" %s=%d", zone, json_object_get_int(level));
                        any = true;
                }
                printf("%s\n", any ? "" : " -");
        }
        if (json_object_object_get_ex(o, "positions", &v)) {
                bool any = false;
                json_object_object_foreach(v, pos, axes)
                {
                        printf("%s%s", any ? "                 " : "Positions:       ", pos);
                        json_object_object_foreach(axes, axis, at)
                        {
                                printf(" %s=%.2f", axis, json_object_get_double(at));
                        }
                        putchar('\n');
                        any = true;
                }
                if (!any)
                        printf("Positions:       -\n");
        }
        json_object_put(o);
        return 0;
}

/* profile save NAME [options]: the settings given go to chaird; the others stay as they were. */
static int save(sd_bus *bus, int argc, char *argv[])
{
        static const struct option options[] = {
                {"intensity", required_argument, NULL, 'i'},
                {"heat", required_argument, NULL, 'H'},
                {"no-heat", no_argument, NULL, 'N'},
                {"favourite", required_argument, NULL, 'f'},
                {"no-favourites", no_argument, NULL, 'F'},
                {"shoulder-offset", required_argument, NULL, 's'},
                {"program", required_argument, NULL, 'p'},
                {},
        };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        const char *favourites[PROFILE_CHOICES_MAX], *heat_zone[PROFILE_CHOICES_MAX], *program = NULL;
        uint32_t heat_level[PROFILE_CHOICES_MAX], intensity = 0;
        size_t n_favourites = 0, n_heat = 0;
        bool intensity_given = false, favourites_given = false, heat_given = false, offset_given = false;
        long offset = 0;
        char *end, *eq;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'i':
                        if (online_parse_number(optarg, "--intensity", &intensity))
                                return EXIT_USAGE;
                        intensity_given = true;
                        break;
                case 'H':
                        eq = strchr(optarg, '=');
                        if (!eq || eq == optarg || n_heat == PROFILE_CHOICES_MAX) {
                                fprintf(stderr,
                                        "chairctl: --heat takes ZONE=LEVEL, e.g. lumbar=2, not '%s'\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        *eq = '\0';
                        heat_zone[n_heat] = optarg;
                        if (online_parse_number(eq + 1, "the heat level", &heat_level[n_heat]))
                                return EXIT_USAGE;
                        n_heat++;
                        heat_given = true;
                        break;
                case 'N':
                        heat_given = true;
                        break;
                case 'f':
                        if (n_favourites == PROFILE_CHOICES_MAX) {
                                fprintf(stderr, "chairctl: --favourite given more than %d times\n",
                                        PROFILE_CHOICES_MAX);
                                return EXIT_USAGE;
                        }
                        favourites[n_favourites++] = optarg;
                        favourites_given = true;
                        break;
                case 'F':
                        favourites_given = true;
                        break;
                case 's':
                        errno = 0;
                        offset = strtol(optarg, &end, 10);
                        if (errno || *end || end == optarg || offset < INT32_MIN || offset > INT32_MAX) {
                                fprintf(stderr,
                                        "chairctl: --shoulder-offset takes millimetres (e.g. 20, -15), "
                                        "not '%s'\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        offset_given = true;
                        break;
                case 'p':
                        program = optarg;
                        break;
                default:
                        return EXIT_USAGE;
                }
        if (optind + 1 != argc) {
                fprintf(stderr, "chairctl: profile save takes one profile name, then its settings\n");
                return EXIT_USAGE;
        }
        r = online_new_call(bus, "SaveProfile", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", argv[optind]);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && intensity_given)
                r = sd_bus_message_append(m, "{sv}", "intensity", "u", intensity);
        if (r >= 0 && offset_given)
                r = sd_bus_message_append(m, "{sv}", "shoulder-offset", "i", (int32_t) offset);
        if (r >= 0 && program)
                r = sd_bus_message_append(m, "{sv}", "program", "s", program);
        if (r >= 0 && favourites_given) {
                r = bus_open_entry(m, "favourites", "as");
                for (size_t i = 0; r >= 0 && i < n_favourites; i++)
                        r = sd_bus_message_append(m, "s", favourites[i]);
                if (r >= 0)
                        r = bus_close_entry(m);
        }
        if (r >= 0 && heat_given) {
                r = bus_open_entry(m, "heat", "a{su}");
                for (size_t i = 0; r >= 0 && i < n_heat; i++)
                        r = sd_bus_message_append(m, "{su}", heat_zone[i], heat_level[i]);
                if (r >= 0)
                        r = bus_close_entry(m);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        r = online_send(bus, m, r, NULL);
        if (r)
                return r;
        if (!global.json)
                printf("Profile %s saved\n", argv[optind]); /* on the disk: chaird answers once it is */
        return 0;
}

int verb_profile(sd_bus *bus, int argc, char *argv[])
{
        const char *what = argc > 1 ? argv[1] : "list";

        if (streq(what, "list") && argc <= 2)
                return list(bus);
        if (streq(what, "save"))
                return save(bus, argc - 1, argv + 1);
        if (streq(what, "select") && argc == 3)
                return online_call(bus, NULL, "SelectProfile", NULL, "s",
                                   streq(argv[2], "--none") ? "" : argv[2]);
        if (streq(what, "show") && argc == 3)
                return show(bus, argv[2]);
        if (streq(what, "delete") && argc == 3)
                return online_call(bus, NULL, "DeleteProfile", NULL, "s", argv[2]);
        fprintf(stderr,
                "chairctl: profile takes list, show NAME, select NAME|--none, save NAME [SETTINGS] or "
                "delete NAME (chairctl profile --help)\n");
        return EXIT_USAGE;
}

int verb_position(sd_bus *bus, int argc, char *argv[])
{
        if (argc == 3 && streq(argv[1], "save"))
                return online_call(bus, NULL, "SavePosition", NULL, "s", argv[2]);
        if (argc == 3 && streq(argv[1], "delete"))
                return online_call(bus, NULL, "DeletePosition", NULL, "s", argv[2]);
        fprintf(stderr,
                "chairctl: position takes save NAME or delete NAME (the selected profile's; chairctl "
                "recline NAME drives there)\n");
        return EXIT_USAGE;
}
