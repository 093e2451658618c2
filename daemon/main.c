/* main.c: chaird's command line: the daemon, or one of its one-shot modes. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>

#include "build-config.h"
#include "config.h"
#include "api.h"
#include "daemon.h"
#include "log.h"

static void usage(FILE *f)
{
        fputs("Usage: chaird [--config FILE] [--programs DIR]... [--state-dir DIR] [--time-scale N]\n"
              "              [--control-group NAME] [-v]\n"
              "       chaird --check-config FILE\n"
              "       chaird --safe-state [--config FILE]\n"
              "The massage chair controller daemon.\n\n"
              "  --config FILE         the hardware config (default " DEFAULT_CONFIG_FILE ")\n"
              "  --programs DIR        a program directory; repeatable, a later one overriding an earlier "
              "one's\n"
              "                        programs by id; InstallProgram writes into the last (default\n"
              "                        " STOCK_PROGRAMS_DIR " then " LOCAL_PROGRAMS_DIR ")\n"
              "  --state-dir DIR       where state across restarts is kept: the marker of an active chair,\n"
              "                        recline positions, profiles, history and usage (default\n"
              "                        " DEFAULT_STATE_DIR ")\n"
              "  --time-scale N        run programs N times faster, N from 1 to 1000: only with the\n"
              "                        simulator (chair-sim)\n"
              "  --control-group NAME  the group whose members may control the chair "
              "(default " DEFAULT_CONTROL_GROUP ")\n"
              "  --check-config FILE   check a hardware config and exit: 0 valid, 1 invalid\n"
              "  --safe-state          drive every output of the config safe and exit (for ExecStopPost=)\n"
              "  -v, --verbose         log debug messages too\n"
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
        printf("%s: valid: %zu bus%s, %zu wired values\n", path, c->n_buses, c->n_buses == 1 ? "" : "es",
               c->n_ios);
        return 0;
}

/* Opens every bus of the config, writes every output's safe value and waits until it is out. */
static int safe_state(const char *path)
{
        _cleanup_(chair_config_freep) struct chair_config *c = NULL;
        _cleanup_(chair_freep) struct chair *chair = NULL;
        sd_event *event = NULL;
        struct diag_list diags = {};
        int r = chair_config_load_file(path, &diags, &c);

        diag_sort(&diags);
        diag_print(&diags, stderr);
        diag_list_clear(&diags);
        if (r < 0)
                return log_error_errno(r, "Cannot load %s: %m", path), 1;
        r = sd_event_new(&event);
        if (r >= 0)
                r = chair_new(c, event, NULL, NULL, &chair);
        if (r >= 0)
                r = chair_safe(chair, 2 * USEC_PER_SEC);
        chair = chair_free(chair);
        sd_event_unref(event);
        if (r < 0)
                return log_error_errno(r, "The safe state could not be written: %m"), 1;
        log_info("Every output of %s is in its safe state", path);
        return 0;
}

int main(int argc, char **argv)
{
        enum {
                ARG_CHECK_CONFIG = 0x100,
                ARG_CONFIG,
                ARG_PROGRAMS,
                ARG_STATE_DIR,
                ARG_TIME_SCALE,
                ARG_CONTROL_GROUP,
                ARG_SAFE_STATE,
                ARG_VERSION,
        };
        static const struct option long_options[] = {
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, ARG_VERSION},
                {"verbose", no_argument, NULL, 'v'},
                {"check-config", required_argument, NULL, ARG_CHECK_CONFIG},
                {"config", required_argument, NULL, ARG_CONFIG},
                {"programs", required_argument, NULL, ARG_PROGRAMS},
                {"state-dir", required_argument, NULL, ARG_STATE_DIR},
                {"time-scale", required_argument, NULL, ARG_TIME_SCALE},
                {"control-group", required_argument, NULL, ARG_CONTROL_GROUP},
                {"safe-state", no_argument, NULL, ARG_SAFE_STATE},
                {},
        };
        _cleanup_(strv_freep) char **dirs = NULL;
        _cleanup_(daemon_freep) struct daemon *d = NULL;
        _cleanup_(api_freep) struct api *api = NULL; /* freed before d: declared after it */
        struct options o = {
                .config_path = (char *) DEFAULT_CONFIG_FILE,
                .state_dir = (char *) DEFAULT_STATE_DIR,
                .time_scale = 1.0,
                .control_group = (char *) DEFAULT_CONTROL_GROUP,
        };
        const char *check = NULL;
        bool safe = false;
        char *end;
        int c, r;

        while ((c = getopt_long(argc, argv, "hv", long_options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        usage(stdout);
                        return 0;
                case ARG_VERSION:
                        puts("chaird " PACKAGE_VERSION);
                        return 0;
                case 'v':
                        o.verbose = true;
                        break;
                case ARG_CHECK_CONFIG:
                        check = optarg;
                        break;
                case ARG_CONFIG:
                        o.config_path = optarg;
                        break;
                case ARG_PROGRAMS:
                        if (strv_extend(&dirs, optarg) < 0)
                                return 1;
                        break;
                case ARG_STATE_DIR:
                        o.state_dir = optarg;
                        break;
                case ARG_TIME_SCALE:
                        errno = 0;
                        o.time_scale = strtod(optarg, &end);
                        if (errno || end == optarg || *end || !isfinite(o.time_scale) ||
                            o.time_scale < 1.0 || o.time_scale > 1000.0) {
                                fprintf(stderr,
                                        "chaird: --time-scale takes a number from 1 to 1000, not '%s'\n",
                                        optarg);
                                return 2;
                        }
                        break;
                case ARG_CONTROL_GROUP:
                        o.control_group = optarg;
                        break;
                case ARG_SAFE_STATE:
                        safe = true;
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
        log_setup(o.verbose);
        if (safe)
                return safe_state(o.config_path);

        if (!dirs &&
            (strv_extend(&dirs, STOCK_PROGRAMS_DIR) < 0 || strv_extend(&dirs, LOCAL_PROGRAMS_DIR) < 0))
                return 1;
        o.program_dirs = dirs;
        r = daemon_new(&o, &d);
        if (r < 0)
                return 1;
        r = api_new(d, &api);
        if (r < 0)
                return 1;
        r = daemon_run(d);
        api = api_free(api); /* the last signals out before the core goes */
        return r < 0 ? 1 : 0;
}
