/* main.c: chaird-web, the chair's page and its WebSocket API: a D-Bus client of chaird, like chaird-mqtt. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "build-config.h"
#include "chair-link.h"
#include "pairing.h"
#include "server.h"
#include "util.h"
#include "web-config.h"

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: chaird-web [OPTION]...\n"
                "Serves the chair's page and, at /api, a WebSocket speaking the bridges' JSON commands.\n\n"
                "  -c, --config FILE     the config (default " DEFAULT_WEB_CONFIG_FILE ")\n"
                "  -l, --listen ADDR:PORT  where to listen (default " WEB_DEFAULT_LISTEN ")\n"
                "      --page-dir DIR    the page's files (default " DEFAULT_WEB_PAGE_DIR ")\n"
                "      --state-dir DIR   where paired phones are kept, with lan: true (default "
                "$STATE_DIRECTORY,\n"
                "                        else " WEB_DEFAULT_STATE_DIR ")\n"
                "      --chair-config FILE  chaird's config, for the programs' pictures (default\n"
                "                        " DEFAULT_CONFIG_FILE ")\n"
                "      --programs DIR    chaird's programs folders, as chaird takes them, for their\n"
                "                        patterns (repeatable; default " STOCK_PROGRAMS_DIR " then\n"
                "                        " LOCAL_PROGRAMS_DIR ")\n"
                "  -h, --help            this help\n"
                "      --version         the version\n");
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static void on_state(struct chair_link *l, json_object *state, void *userdata)
{
        web_server_state_changed(*(struct web_server **) userdata);
}

static void on_programs(struct chair_link *l, json_object *programs, void *userdata)
{
        web_server_programs_changed(*(struct web_server **) userdata);
}

static void on_event(struct chair_link *l, json_object *event, void *userdata)
{
        web_server_event(*(struct web_server **) userdata, event);
}

static void on_availability(struct chair_link *l, bool available, void *userdata)
{
        web_server_availability(*(struct web_server **) userdata);
}

static int run(const struct web_config *c, const char *page_dir, const char *state_dir)
{
        static const struct chair_link_callbacks cb = {on_state, on_programs, on_event, on_availability};
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(chair_link_freep) struct chair_link *link = NULL;
        struct web_server *server = NULL;
        _cleanup_(closep) int state_fd = -1;
        _cleanup_(pairing_freep) struct pairing *pairing = NULL;
        sigset_t mask;
        int r;

        if (c->lan) {
                /* systemd's StateDirectory= names it; only root and chaird-web can read it. */
                state_dir = state_dir ?: getenv("STATE_DIRECTORY") ?: WEB_DEFAULT_STATE_DIR;
                state_fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (state_fd < 0)
                        return fprintf(stderr, "chaird-web: cannot open %s: %m\n", state_dir), -errno;
                r = pairing_new(state_fd, &pairing);
                if (r < 0)
                        return fprintf(stderr, "chaird-web: cannot read %s/" PAIRING_FILE ": %s\n",
                                       state_dir, file_error_words(r)),
                               r;
                if (!c->tls_cert)
                        fprintf(stderr,
                                "chaird-web: phones on the network without TLS (no tls-cert in the config): "
                                "their token crosses the network in the clear\n");
        }

        r = sd_event_default(&event);
        if (r < 0)
                return fprintf(stderr, "Failed to create the event loop: %s\n", strerror(-r)), r;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN); /* a page gone mid-write is an error return, not a death */
        if ((r = sd_event_add_signal(event, NULL, SIGTERM, on_signal, NULL)) < 0 ||
            (r = sd_event_add_signal(event, NULL, SIGINT, on_signal, NULL)) < 0)
                return fprintf(stderr, "Failed to watch signals: %s\n", strerror(-r)), r;
        r = sd_bus_open_system(&bus);
        if (r < 0)
                return fprintf(stderr, "Failed to connect to the system bus: %s\n", strerror(-r)), r;
        r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return fprintf(stderr, "Failed to attach the bus to the loop: %s\n", strerror(-r)), r;
        (void) sd_bus_set_exit_on_disconnect(bus, true);

        r = chair_link_new(event, bus, &cb, &server, &link);
        if (r < 0)
                return fprintf(stderr, "Failed to set up the chair link: %s\n", strerror(-r)), r;
        r = web_server_new(event, link, c, pairing, page_dir, &server);
        if (r < 0)
                return r;
        r = chair_link_start(link);
        if (r < 0) {
                web_server_free(server);
                return fprintf(stderr, "Failed to start the chair link: %s\n", strerror(-r)), r;
        }
        fprintf(stderr, "Serving the chair's page on http://%s:%d/\n", c->host, c->port);
        if (c->lan)
                fprintf(stderr, "Serving paired phones on %s://%s:%d/\n", c->tls_cert ? "https" : "http",
                        c->lan_host, c->lan_port);
        (void) sd_notify(false, "READY=1\nSTATUS=Serving");
        r = sd_event_loop(event);
        (void) sd_notify(false, "STOPPING=1");
        link = chair_link_free(link); /* its calls go before the pages they answer */
        web_server_free(server);
        if (r < 0)
                return fprintf(stderr, "The event loop failed: %s\n", strerror(-r)), r;
        return 0;
}

int main(int argc, char **argv)
{
        enum {
                ARG_VERSION = 0x100,
                ARG_PAGE_DIR,
                ARG_STATE_DIR,
                ARG_CHAIR_CONFIG,
                ARG_PROGRAMS,
        };
        static const struct option long_options[] = {
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, ARG_VERSION},
                {"config", required_argument, NULL, 'c'},
                {"listen", required_argument, NULL, 'l'},
                {"page-dir", required_argument, NULL, ARG_PAGE_DIR},
                {"state-dir", required_argument, NULL, ARG_STATE_DIR},
                {"chair-config", required_argument, NULL, ARG_CHAIR_CONFIG},
                {"programs", required_argument, NULL, ARG_PROGRAMS},
                {},
        };
        const char *config_path = NULL, *listen = NULL, *page_dir = DEFAULT_WEB_PAGE_DIR, *why = NULL,
                   *state_dir = NULL, *chair_config = NULL;
        _cleanup_(strv_freep) char **programs = NULL;
        struct web_config c;
        struct diag_list diags = {};
        int opt, r;

        while ((opt = getopt_long(argc, argv, "hc:l:", long_options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        usage(stdout);
                        return 0;
                case ARG_VERSION:
                        puts("chaird-web " PACKAGE_VERSION);
                        return 0;
                case 'c':
                        config_path = optarg;
                        break;
                case 'l':
                        listen = optarg;
                        break;
                case ARG_PAGE_DIR:
                        page_dir = optarg;
                        break;
                case ARG_STATE_DIR:
                        state_dir = optarg;
                        break;
                case ARG_CHAIR_CONFIG:
                        chair_config = optarg;
                        break;
                case ARG_PROGRAMS:
                        if (strv_extend(&programs, optarg) < 0)
                                return 1;
                        break;
                default:
                        usage(stderr);
                        return 2;
                }
        if (optind < argc) {
                fprintf(stderr, "chaird-web: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }
        web_config_init(&c);
        r = web_config_load(&c, config_path ?: DEFAULT_WEB_CONFIG_FILE, &diags);
        diag_sort(&diags);
        diag_print(&diags, stderr);
        diag_list_clear(&diags);
        if (r == -ENOENT && !config_path)
                r = 0; /* no /etc/chaird/web.yaml: the defaults */
        else if (r < 0 && r != -EINVAL)
                fprintf(stderr, "chaird-web: cannot read %s: %s\n", config_path ?: DEFAULT_WEB_CONFIG_FILE,
                        strerror(-r));
        if (r >= 0 && listen && (free(c.listen), !(c.listen = strdup(listen))))
                r = -ENOMEM;
        if (r >= 0 && chair_config && (free(c.chair_config), !(c.chair_config = strdup(chair_config))))
                r = -ENOMEM;
        if (r >= 0)
                c.programs = TAKE_PTR(programs);
        if (r >= 0) {
                r = web_config_finish(&c, &why);
                if (r < 0)
                        fprintf(stderr, "chaird-web: %s\n", why ?: strerror(-r));
        }
        if (r >= 0)
                r = run(&c, page_dir, state_dir);
        web_config_done(&c);
        return r < 0 ? 1 : 0;
}
