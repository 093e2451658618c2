/* main.c: chaird-mqtt, the bridge between chaird's D-Bus API and an MQTT broker. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "bridge-config.h"
#include "bridge.h"
#include "build-config.h"
#include "mqtt.h"
#include "remove-discovery.h"

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: chaird-mqtt [OPTION]...\n"
                "Bridges chaird's D-Bus API to an MQTT broker.\n"
                "\n"
                "  -c, --config FILE   read FILE (default " DEFAULT_MQTT_CONFIG_FILE ")\n"
                "  -b, --broker URL    mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (overrides the config)\n"
                "  -i, --chair-id ID   the chair's topic level (overrides the config; default the host "
                "name)\n"
                "      --remove-discovery\n"
                "                      clear the chair's retained topics on the broker (Home Assistant's\n"
                "                      discovery configs, state, programs, availability) and exit\n"
                "  -h, --help          show this help and exit\n"
                "      --version       show the version and exit\n");
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

/* A file the config names that cannot be read: a config that cannot work, said with the file's name. */
static int check_readable(const char *key, const char *path)
{
        if (!path)
                return 0;
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                int r = -errno;
                fprintf(stderr, "Cannot read the %s %s: %s\n", key, path, strerror(-r));
                (void) sd_notifyf(false, "STATUS=Cannot read the %s %s: %s", key, path, strerror(-r));
                return r;
        }
        close(fd);
        return 0;
}

static bool arg_remove_discovery;

static int run(struct bridge_config *c)
{
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(bridge_freep) struct bridge *b = NULL;
        _cleanup_free_ char *password = NULL;
        int r;

        if (c->password_file) {
                r = password_file_read(c->password_file, &password);
                if (r == -EPERM) {
                        fprintf(stderr, "%s is readable by others than its owner: chmod 600 it.\n",
                                c->password_file);
                        return r;
                }
                if (r < 0) {
                        fprintf(stderr, "Cannot read the password from %s: %s\n", c->password_file,
                                r == -EINVAL ? "empty or not a file" : strerror(-r));
                        return r;
                }
        }

        if ((r = check_readable("ca-file", c->ca_file)) < 0 ||
            (r = check_readable("cert-file", c->cert_file)) < 0 ||
            (r = check_readable("key-file", c->key_file)) < 0)
                return r;

        r = sd_event_default(&event);
        if (r < 0)
                return fprintf(stderr, "Failed to make the event loop: %s\n", strerror(-r)), r;
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN); /* a broker gone mid-write is an error return, not a death */
        if ((r = sd_event_add_signal(event, NULL, SIGTERM, on_signal, NULL)) < 0 ||
            (r = sd_event_add_signal(event, NULL, SIGINT, on_signal, NULL)) < 0)
                return fprintf(stderr, "Failed to watch signals: %s\n", strerror(-r)), r;

        if (arg_remove_discovery) {
                r = remove_discovery(event, c, password, 15);
                if (r == -ETIMEDOUT)
                        return fprintf(stderr, "The broker %s did not answer: nothing was cleared.\n",
                                       c->broker),
                               r;
                if (r < 0)
                        return fprintf(stderr, "Failed to clear the chair's topics: %s\n", strerror(-r)), r;
                fprintf(stderr, "Cleared %d retained topics of chair %s on %s.\n", r, c->chair_id,
                        c->broker);
                return 0;
        }

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return fprintf(stderr, "Failed to connect to the system bus: %s\n", strerror(-r)), r;
        r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return fprintf(stderr, "Failed to attach the bus to the loop: %s\n", strerror(-r)), r;
        /* The system bus gone is the end: systemd starts the bridge again. */
        (void) sd_bus_set_exit_on_disconnect(bus, true);

        r = bridge_new(event, bus, c, password, &b);
        if (r < 0)
                return fprintf(stderr, "Failed to set up the bridge: %s\n", strerror(-r)), r;
        r = bridge_start(b);
        if (r < 0)
                return fprintf(stderr, "Failed to start the bridge: %s\n", strerror(-r)), r;

        fprintf(stderr, "Bridging chair %s to %s.\n", c->chair_id, c->broker);
        (void) sd_notify(false, "READY=1\nSTATUS=Bridging");
        r = sd_event_loop(event);
        (void) sd_notify(false, "STOPPING=1");
        bridge_stop(b);
        if (r == -EACCES)
                return r; /* the broker refused the credentials: said already */
        if (r < 0)
                return fprintf(stderr, "The event loop failed: %s\n", strerror(-r)), r;
        return 0;
}

int main(int argc, char **argv)
{
        enum {
                ARG_VERSION = 0x100,
                ARG_REMOVE_DISCOVERY,
        };
        static const struct option long_options[] = {
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, ARG_VERSION},
                {"config", required_argument, NULL, 'c'},
                {"broker", required_argument, NULL, 'b'},
                {"chair-id", required_argument, NULL, 'i'},
                {"remove-discovery", no_argument, NULL, ARG_REMOVE_DISCOVERY},
                {},
        };
        const char *config_path = NULL, *broker = NULL, *chair_id = NULL, *error = NULL;
        struct bridge_config c;
        struct diag_list diags = {};
        int opt, r;

        while ((opt = getopt_long(argc, argv, "hc:b:i:", long_options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        usage(stdout);
                        return 0;
                case ARG_VERSION:
                        puts("chaird-mqtt " PACKAGE_VERSION);
                        return 0;
                case 'c':
                        config_path = optarg;
                        break;
                case 'b':
                        broker = optarg;
                        break;
                case 'i':
                        chair_id = optarg;
                        break;
                case ARG_REMOVE_DISCOVERY:
                        arg_remove_discovery = true;
                        break;
                default:
                        usage(stderr);
                        return 2;
                }
        if (optind < argc) {
                fprintf(stderr, "chaird-mqtt: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }

        bridge_config_init(&c);
        r = bridge_config_load(&c, config_path ?: DEFAULT_MQTT_CONFIG_FILE, &diags);
        diag_sort(&diags);
        diag_print(&diags, stderr);
        diag_list_clear(&diags);
        if (r == -ENOENT && !config_path)
                r = 0; /* no /etc/chaird/mqtt.yaml: the defaults */
        else if (r < 0 && r != -EINVAL)
                fprintf(stderr, "chaird-mqtt: cannot read %s: %s\n", config_path ?: DEFAULT_MQTT_CONFIG_FILE,
                        strerror(-r));
        if (r < 0)
                goto fail;
        if ((broker && (free(c.broker), !(c.broker = strdup(broker)))) ||
            (chair_id && (free(c.chair_id), !(c.chair_id = strdup(chair_id))))) {
                r = -ENOMEM;
                goto fail;
        }
        r = bridge_config_finish(&c, &error);
        if (r < 0) {
                fprintf(stderr, "chaird-mqtt: %s\n", error ?: strerror(-r));
                goto fail;
        }
        r = mqtt_lib_init();
        if (r >= 0) {
                r = run(&c);
                mqtt_lib_cleanup();
        }
fail:
        bridge_config_done(&c);
        return r < 0 ? 1 : 0;
}
