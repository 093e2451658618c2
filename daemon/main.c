/* main.c: chaird's command line. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>

#include "build-config.h"
#include "config.h"

static void usage(FILE *f)
{
        fputs("Usage: chaird [--config FILE] [--programs DIR]... [--state-dir DIR] [--time-scale N]\n"
              "       chaird --check-config FILE\n"
              "       chaird --safe-state [--config FILE]\n"
              "The massage chair controller daemon.\n\n"
              "  --check-config FILE   check a hardware config and exit: 0 valid, 1 invalid\n"
              "  --config FILE         the hardware config (default " DEFAULT_CONFIG_FILE ")\n"
              "  -h, --help            show this help\n"
              "  --version             show the version\n",
              f);
}

/* Checks a config as the daemon would load it, printing every problem as file:line:col. */
static int check_config(const char *path)
{
        _cleanup_(chair_config_freep) struct chair_config *c = NULL;
        struct diag_list diags = {};
        int r = chair_config_load_file(path, &diags, &c);

        diag_sort(&diags);
        diag_print(&diags, stderr);
        diag_list_clear(&diags);
        if (r == -EINVAL)
                return 1;
        if (r < 0) {
                fprintf(stderr, "%s: error: cannot read the config: %s\n", path, strerror(-r));
                return 1;
        }
        printf("%s: valid: %zu bus%s, %zu wired values\n", path, c->n_buses, c->n_buses == 1 ? "" : "es", c->n_ios);
        return 0;
}

int main(int argc, char **argv)
{
        enum { ARG_CHECK_CONFIG = 0x100, ARG_CONFIG, ARG_VERSION };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "check-config", required_argument, NULL, ARG_CHECK_CONFIG },
                { "config", required_argument, NULL, ARG_CONFIG },
                {},
        };
        const char *check = NULL;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        usage(stdout);
                        return 0;
                case ARG_VERSION:
                        puts("chaird " PACKAGE_VERSION);
                        return 0;
                case ARG_CHECK_CONFIG:
                        check = optarg;
                        break;
                case ARG_CONFIG:
                        break;
                default:
                        usage(stderr);
                        return 2;
                }
        if (optind < argc) {
                fprintf(stderr, "chaird: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }
        if (check)
                return check_config(check);
        /* The daemon itself (event loop, engine, D-Bus) is not built yet; refuse rather than pretend. */
        fprintf(stderr, "chaird: this build only checks configs (--check-config); the daemon's loop is not part "
                        "of it yet\n");
        return 1;
}
