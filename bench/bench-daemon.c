/* bench-daemon: what chaird costs, each figure against a floor measured in the same run.
 *
 *  - latency: SetHeat over D-Bus until chair-sim holds the new coil value, against the floor of a bare D-Bus
 *    round trip to chaird (Peer.Ping, answered by sd-bus itself) plus a bare libmodbus write of the same
 * coil. Both ends are timed the same way: from just before the call to chair-sim's own stamp of the change.
 *  - idle: context switches of an idle chaird over 10 s, and its RSS with every stock program loaded against
 *    one with no program at all.
 *  - timing: 1000 setpoints 10 ms apart at time scale 1, run by chaird's own code (daemon, engine, chair
 * model and Modbus driver) in this process: how late each setpoint is applied against its absolute deadline,
 *    and how far the program's end drifts. Alone, then with 20 D-Bus clients (child processes) calling and
 *    listening to every signal, at 20 calls per second each and then back to back.
 *
 * BENCH_DAEMON_SCHED=nice:N, rr:N or fifo:N runs chaird's threads (not the clients, hogs or bare timer) as
 * the unit's Nice=N or CPUSchedulingPolicy=rr|fifo with CPUSchedulingPriority=N would; the part "flood" runs
 * only the saturated timing row.
 *
 * Not a test: it prints figures and asserts nothing. Usage: bench-daemon BUILD_DIR */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <modbus.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>

#include "api.h"
#include "daemon.h"
#include "log.h"
#include "simctl.h"

#define SAMPLES 400
/* How long the loop goes on answering after the clients were told to stop. */
#define CLIENT_DRAIN_USEC     (300 * USEC_PER_MSEC)
#define SETPOINTS             1000
#define SETPOINT_SPACING_USEC (10 * USEC_PER_MSEC)
#define CLIENTS               20
#define FLOOD_CLIENTS         30 /* the load test's: tests/integration/test-safety.py */
#define HOGS                  2
#define RUNS                  5 /* of each timing load */
#define CLIENT_PERIOD_MSEC    50
#define IDLE_WINDOW_SEC       10
#define COIL_HEATER_LUMBAR    14 /* docs/reference-board.md */

struct bench {
        const char *builddir;
        struct simctl sim;
        pid_t dbus, chaird;
        char config[160], stock[300], empty[160], timing_dir[160], log[160];
        char bare[160]; /* the virtual chair without heaters: nothing to watch while idle */
};

static int compare_double(const void *a, const void *b)
{
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static int compare_usec(const void *a, const void *b)
{
        usec_t x = *(const usec_t *) a, y = *(const usec_t *) b;
        return x < y ? -1 : x > y;
}

/* The p-th percentile (0-1) of n samples, sorting them. */
static double percentile(usec_t *v, size_t n, double p)
{
        if (n == 0)
                return NAN;
        qsort(v, n, sizeof(*v), compare_usec);
        size_t i = (size_t) ceil(p * (double) n);
        return (double) v[i ? i - 1 : 0];
}

static bool write_text(const char *path, const char *text)
{
        FILE *f = fopen(path, "we");
        bool ok = f && fputs(text, f) >= 0;
        return f && fclose(f) == 0 && ok;
}

/* Starts argv with stdin from in_fd and stdout to out_fd (-1: inherited), stderr to the bench's log file. */
static pid_t spawn_io(const struct bench *b, char *const argv[], int in_fd, int out_fd)
{
        posix_spawn_file_actions_t fa;
        pid_t pid;
        int r;

        posix_spawn_file_actions_init(&fa);
        if (in_fd >= 0)
                posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
        if (out_fd >= 0)
                posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
        posix_spawn_file_actions_addopen(&fa, 2, b->log, O_WRONLY | O_APPEND | O_CREAT, 0644);
        r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        return r == 0 ? pid : -1;
}

/* A private dbus-daemon of type system, as the integration tests use; this process and its children find it
 * through DBUS_SYSTEM_BUS_ADDRESS. */
static int start_bus(struct bench *b)
{
        char conf[160], sock[160], address[200], arg[200];
        char *text = read_text(SOURCE_ROOT "/tests/integration/system-bus.conf.in");

        snprintf(sock, sizeof(sock), "%s/bus.sock", b->sim.dir);
        snprintf(conf, sizeof(conf), "%s/bus.conf", b->sim.dir);
        if (!text)
                return -EIO;
        text = replace_text(text, "@SOCKET@", sock);
        bool ok = write_text(conf, text);
        free(text);
        if (!ok)
                return -EIO;
        snprintf(arg, sizeof(arg), "--config-file=%s", conf);
        b->dbus = spawn_io(b, (char *[]){"/usr/bin/dbus-daemon", arg, "--nofork", "--nopidfile", NULL}, -1,
                           -1);
        if (b->dbus < 0 || !wait_for_path(sock))
                return -EIO;
        snprintf(address, sizeof(address), "unix:path=%s", sock);
        return setenv("DBUS_SYSTEM_BUS_ADDRESS", address, 1) < 0 ? -errno : 0;
}

/* Waits until chaird owns its name (it does before READY=1). */
static bool wait_for_chaird(sd_bus *bus)
{
        for (int i = 0; i < 1000; i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                int has = 0;
                if (sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "NameHasOwner", NULL, &reply, "s",
                                       CHAIRD_BUS_NAME) >= 0 &&
                    sd_bus_message_read(reply, "b", &has) >= 0 && has)
                        return true;
                usleep(10000);
        }
        return false;
}

static pid_t start_chaird_on(const struct bench *b, const char *config, const char *programs)
{
        char chaird[300];

        snprintf(chaird, sizeof(chaird), "%s/daemon/chaird", b->builddir);
        return spawn_io(
                b, (char *[]){chaird, "--config", (char *) config, "--programs", (char *) programs, NULL},
                -1, -1);
}

static pid_t start_chaird(const struct bench *b, const char *programs)
{
        return start_chaird_on(b, b->config, programs);
}

/* When chair-sim last saw coil change, in CLOCK_MONOTONIC microseconds. */
static usec_t coil_changed(const struct bench *b, int coil)
{
        char line[32], reply[96];
        const char *p;

        snprintf(line, sizeof(line), "changed coil %d", coil);
        if (sim_command(&b->sim, line, reply, sizeof(reply)) < 0 || !(p = strstr(reply, "\"usec\":")))
                return 0;
        return strtoull(p + 7, NULL, 10);
}

/* Waits until chair-sim stamps a change of coil later than since; the stamp minus start, or 0. */
static usec_t until_coil_changes(const struct bench *b, int coil, usec_t since, usec_t start)
{
        for (int i = 0; i < 200; i++) {
                usec_t at = coil_changed(b, coil);
                if (at > since)
                        return at - start;
                usleep(5000);
        }
        return 0;
}

static void print_row(const char *what, usec_t *v, size_t n, double floor_p50, double floor_p99)
{
        double p50 = percentile(v, n, 0.50), p99 = percentile(v, n, 0.99);

        printf("| %s | %.0f | %.0f | %.0f |", what, p50, p99, (double) v[n - 1]);
        if (!isnan(floor_p99))
                printf(" %.2f | %.2f |", p50 / floor_p50, p99 / floor_p99);
        printf("\n");
}

/* Commands from a touch panel come one at a time to a daemon that was asleep; so do the measured ones. The
 * floor is measured both back to back (hot caches, busy CPUs) and with the same pause before each sample,
 * because on a VM the wakeup from idle alone costs more than the whole hot round trip. */
#define PACE_USEC (10 * USEC_PER_MSEC)

static int write_floor_samples(struct bench *b, int coil, bool paced, usec_t *ret)
{
        char port[8];
        modbus_t *ctx;

        snprintf(port, sizeof(port), "%d", b->sim.port);
        ctx = modbus_new_tcp_pi("127.0.0.1", port);
        if (!ctx || modbus_set_slave(ctx, 1) < 0 || modbus_connect(ctx) < 0) {
                if (ctx)
                        modbus_free(ctx);
                return -EIO;
        }
        int r = 0;
        for (int i = 0; i < SAMPLES && r == 0; i++) {
                if (paced)
                        usleep(PACE_USEC);
                usec_t since = coil_changed(b, coil), start = now_usec();
                if (modbus_write_bit(ctx, coil, !(i % 2)) < 0 ||
                    !(ret[i] = until_coil_changes(b, coil, since, start)))
                        r = -EIO;
        }
        modbus_write_bit(ctx, coil, 0);
        modbus_close(ctx);
        modbus_free(ctx);
        return r;
}

static int ping_samples(sd_bus *bus, bool paced, usec_t *ret)
{
        for (int i = 0; i < SAMPLES; i++) {
                if (paced)
                        usleep(PACE_USEC);
                usec_t start = now_usec();
                if (sd_bus_call_method(bus, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH, "org.freedesktop.DBus.Peer",
                                       "Ping", NULL, NULL, "") < 0)
                        return -EIO;
                ret[i] = now_usec() - start;
        }
        return 0;
}

static int bench_latency(struct bench *b, sd_bus *bus, int coil, bool measure)
{
        usec_t ping_hot[SAMPLES], write_hot[SAMPLES], floor_hot[SAMPLES];
        usec_t ping[SAMPLES], write_floor[SAMPLES], floor[SAMPLES], latency[SAMPLES];
        size_t n = 0;

        if (!measure) { /* only the daemon the idle figures need */
                b->chaird = start_chaird(b, b->stock);
                return b->chaird < 0 || !wait_for_chaird(bus) ? -EIO : 0;
        }
        /* The Modbus floor first, while chaird is not there: the same coil, written by bare libmodbus. */
        if (write_floor_samples(b, coil, false, write_hot) < 0 ||
            write_floor_samples(b, coil, true, write_floor) < 0)
                return -EIO;

        b->chaird = start_chaird(b, b->stock);
        if (b->chaird < 0 || !wait_for_chaird(bus))
                return -EIO;
        usleep(1500 * 1000); /* past its start-up reading of every input */
        if (ping_samples(bus, false, ping_hot) < 0 || ping_samples(bus, true, ping) < 0)
                return -EIO;
        /* Level 3 energizes the cold element at once and needs the caller's authorization; level 0 turns it
         * off and is open to everyone, so it skips the credentials lookup. */
        usec_t on[SAMPLES / 2], off[SAMPLES / 2];
        size_t n_on = 0, n_off = 0;
        for (int i = 0; i < SAMPLES; i++) {
                usleep(PACE_USEC);
                usec_t since = coil_changed(b, coil), start = now_usec();
                bool heat = i % 2 == 0;
                if (sd_bus_call_method(bus, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH, CHAIRD_INTERFACE, "SetHeat",
                                       NULL, NULL, "su", "lumbar", heat ? 3u : 0u) < 0)
                        return -EIO;
                usec_t l = until_coil_changes(b, coil, since, start);
                if (l > 0) {
                        latency[n++] = l;
                        if (heat)
                                on[n_on++] = l;
                        else
                                off[n_off++] = l;
                }
        }
        for (int i = 0; i < SAMPLES; i++) {
                floor_hot[i] = ping_hot[i] + write_hot[i];
                floor[i] = ping[i] + write_floor[i];
        }

        printf("## Command latency: SetHeat until the coil changes in chair-sim (us, %d samples, %d ms "
               "apart)\n\n",
               SAMPLES, (int) (PACE_USEC / USEC_PER_MSEC));
        printf("| | p50 | p99 | max | x floor p50 | x floor p99 |\n|---|---|---|---|---|---|\n");
        print_row("D-Bus round trip (Peer.Ping), back to back", ping_hot, SAMPLES, NAN, NAN);
        print_row("libmodbus write, back to back", write_hot, SAMPLES, NAN, NAN);
        print_row("floor, back to back: round trip + write", floor_hot, SAMPLES, NAN, NAN);
        print_row("D-Bus round trip (Peer.Ping), paced", ping, SAMPLES, NAN, NAN);
        print_row("libmodbus write, paced", write_floor, SAMPLES, NAN, NAN);
        double f50 = percentile(floor, SAMPLES, 0.50), f99 = percentile(floor, SAMPLES, 0.99);
        print_row("**floor, paced: round trip + write**", floor, SAMPLES, NAN, NAN);
        print_row("SetHeat, all", latency, n, f50, f99);
        print_row("SetHeat(lumbar, 3): authorized", on, n_on, f50, f99);
        print_row("SetHeat(lumbar, 0): open to all", off, n_off, f50, f99);
        double h50 = percentile(floor_hot, SAMPLES, 0.50), h99 = percentile(floor_hot, SAMPLES, 0.99);
        print_row("SetHeat, all, against the back-to-back floor", latency, n, h50, h99);
        if (n < SAMPLES)
                printf("\n%zu of %d SetHeat calls never changed the coil\n", SAMPLES - n, SAMPLES);
        printf("\n");
        fflush(stdout);

        sd_bus_call_method(bus, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH, CHAIRD_INTERFACE, "SetHeat", NULL, NULL,
                           "su", "lumbar", 0u);
        return 0;
}

/* Voluntary plus involuntary context switches of every thread of pid: each is a wakeup. */
static long long context_switches(pid_t pid)
{
        char path[64];
        long long sum = 0;
        DIR *dir;

        snprintf(path, sizeof(path), "/proc/%d/task", (int) pid);
        dir = opendir(path);
        if (!dir)
                return -1;
        for (struct dirent *de; (de = readdir(dir));) {
                char status[400], line[128];
                long long v;
                if (de->d_name[0] == '.')
                        continue;
                snprintf(status, sizeof(status), "%s/%s/status", path, de->d_name);
                FILE *f = fopen(status, "re");
                while (f && fgets(line, sizeof(line), f))
                        if (sscanf(line, "voluntary_ctxt_switches: %lld", &v) == 1 ||
                            sscanf(line, "nonvoluntary_ctxt_switches: %lld", &v) == 1)
                                sum += v;
                if (f)
                        fclose(f);
        }
        closedir(dir);
        return sum;
}

static long status_kib(pid_t pid, const char *key)
{
        char path[64], line[128];
        long kib = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, key, strlen(key)) == 0)
                        kib = strtol(line + strlen(key), NULL, 10);
        if (f)
                fclose(f);
        return kib;
}

static size_t count_threads(pid_t pid)
{
        char path[64];
        size_t n = 0;
        DIR *dir;

        snprintf(path, sizeof(path), "/proc/%d/task", (int) pid);
        dir = opendir(path);
        for (struct dirent *de; dir && (de = readdir(dir));)
                n += de->d_name[0] != '.';
        if (dir)
                closedir(dir);
        return n;
}

static int bench_idle(struct bench *b, sd_bus *bus)
{
        long rss_stock, rss_empty, hwm_stock;
        pid_t chaird = b->chaird;

        usleep(2500 * 1000); /* the tick lingers 1 s after the chair falls idle */
        long long before = context_switches(chaird);
        sleep(IDLE_WINDOW_SEC);
        long long after = context_switches(chaird);
        rss_stock = status_kib(chaird, "VmRSS:");
        hwm_stock = status_kib(chaird, "VmHWM:");
        long anon = status_kib(chaird, "RssAnon:"), file = status_kib(chaird, "RssFile:");
        size_t threads = count_threads(chaird);
        stop_process(&b->chaird);

        /* The floor: the same daemon with no program to load. */
        b->chaird = start_chaird(b, b->empty);
        if (b->chaird < 0 || !wait_for_chaird(bus))
                return -EIO;
        usleep(2500 * 1000);
        rss_empty = status_kib(b->chaird, "VmRSS:");
        stop_process(&b->chaird);

        /* A chair without heaters has nothing to watch while idle: no wakeup at all. */
        b->chaird = start_chaird_on(b, b->bare, b->stock);
        if (b->chaird < 0 || !wait_for_chaird(bus))
                return -EIO;
        usleep(2500 * 1000);
        long long bare_before = context_switches(b->chaird);
        sleep(IDLE_WINDOW_SEC);
        long long bare = context_switches(b->chaird) - bare_before;
        stop_process(&b->chaird);

        printf("## Idle\n\n");
        printf("| | value |\n|---|---|\n");
        printf("| context switches in %d s idle (%zu threads), the virtual chair: its heaters are read "
               "every `safety.heat-idle-read` | %lld |\n",
               IDLE_WINDOW_SEC, threads, after - before);
        printf("| wakeups per second | %.1f |\n", (double) (after - before) / IDLE_WINDOW_SEC);
        printf("| context switches in %d s idle, the same chair without heaters | %lld |\n", IDLE_WINDOW_SEC,
               bare);
        printf("| RSS, 11 stock programs loaded (KiB) | %ld |\n", rss_stock);
        printf("| of which its own memory (RssAnon, KiB) | %ld |\n", anon);
        printf("| of which mapped files: the binary and shared libraries (RssFile, KiB) | %ld |\n", file);
        printf("| peak RSS, after the latency run (KiB) | %ld |\n", hwm_stock);
        printf("| RSS, no program (KiB), the floor | %ld |\n", rss_empty);
        printf("| ratio | %.2f |\n\n", (double) rss_stock / (double) rss_empty);
        fflush(stdout);
        return 0;
}

/* The timing run: chaird's daemon in this process, a synthetic timeline started on its loop. */
struct timing {
        struct daemon *daemon;
        struct api *api;
        usec_t late[SETPOINTS];
        size_t n;
        usec_t drift;
        bool ended;
        bool timed_out;
        const char *state_at_timeout;
        int error;
        struct client *clients; /* still running */
        size_t n_clients;
};

struct client {
        pid_t pid;
        int in, out; /* its stdin (closing it ends the client), its stdout */
};

static int on_timing_exit(sd_event_source *s, uint64_t usec, void *userdata)
{
        return sd_event_exit(daemon_event(((struct timing *) userdata)->daemon), 0);
}

/* The run is over. The clients are told to stop first, and the loop goes on answering them for a moment:
 * chaird leaving the bus under calls in flight is not what their error count is for. */
static void timing_end(struct timing *t)
{
        for (size_t i = 0; i < t->n_clients; i++) {
                close(t->clients[i].in);
                t->clients[i].in = -1;
        }
        if (t->n_clients == 0 || sd_event_add_time_relative(daemon_event(t->daemon), NULL, CLOCK_MONOTONIC,
                                                            CLIENT_DRAIN_USEC, 0, on_timing_exit, t) < 0)
                sd_event_exit(daemon_event(t->daemon), 0);
        t->n_clients = 0;
}

static int on_timing_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct timing *t = userdata;

        t->timed_out = true;
        t->state_at_timeout = daemon_state(t->daemon);
        timing_end(t);
        return 0;
}

static void on_trace(struct engine *e, const struct setpoint *s, usec_t due_usec, void *userdata)
{
        struct timing *t = userdata;
        usec_t now = now_usec();

        if (!s) {
                t->drift = now - due_usec;
                t->ended = true;
                timing_end(t);
        } else if (s->track == TRACK_FOOT && t->n < SETPOINTS)
                t->late[t->n++] = now - due_usec;
}

/* 1000 foot-roller setpoints 10 ms apart (speeds 1, 2, 3 in turn: every one writes the board), and a phase
 * change every second. No program file can say this: a pattern step is at least 500 ms. */
static struct timeline *synthetic_timeline(const struct program *p)
{
        struct timeline *t = calloc(1, sizeof(*t));
        uint32_t seq = 0;

        if (!t)
                return NULL;
        t->program = p;
        t->duration_usec = SETPOINTS * SETPOINT_SPACING_USEC;
        t->n_phases = p->n_phases;
        t->phase_start_usec = calloc(p->n_phases + 1, sizeof(usec_t));
        t->points = calloc(SETPOINTS + p->n_phases, sizeof(struct setpoint));
        if (!t->phase_start_usec || !t->points)
                return timeline_free(t);
        for (size_t i = 0; i <= p->n_phases; i++)
                t->phase_start_usec[i] = t->duration_usec * i / p->n_phases;
        for (size_t k = 0, phase = 0; k < SETPOINTS; k++) {
                usec_t at = k * SETPOINT_SPACING_USEC;
                if (phase < p->n_phases && at >= t->phase_start_usec[phase])
                        t->points[t->n_points++] = (struct setpoint){
                                .at_usec = at, .track = TRACK_PHASE, .seq = seq++, .phase = phase++};
                t->points[t->n_points++] = (struct setpoint){
                        .at_usec = at, .track = TRACK_FOOT, .seq = seq++, .foot_speed = 1 + k % 3};
        }
        t->cap_points = SETPOINTS + p->n_phases;
        return t;
}

static int on_start(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct timing *t = userdata;
        struct daemon *d = t->daemon;
        const struct catalog_entry *entry = catalog_find(daemon_catalog(d), "timing");
        struct timeline *tl = entry ? synthetic_timeline(entry->program) : NULL;
        int r;

        if (!tl) {
                t->error = -ENOENT;
                return sd_event_exit(daemon_event(d), 0);
        }
        r = daemon_start_timeline(d, "timing", tl, on_trace, t);
        if (r < 0) {
                timeline_free(tl);
                t->error = r;
                sd_event_exit(daemon_event(d), 0);
        }
        return 0;
}

/* Starts n clients; returns how many started (all of them, or fewer on a failure: -errno in *ret_error). */
static size_t start_clients(const struct bench *b, struct client *c, size_t n, int period_msec,
                            int *ret_error)
{
        char self[300], period[16];
        ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
        size_t started = 0;

        *ret_error = 0;
        if (len < 0) {
                *ret_error = -errno;
                return 0;
        }
        self[len] = '\0';
        snprintf(period, sizeof(period), "%d", period_msec);
        for (; started < n; started++) {
                int in[2], out[2];
                if (pipe2(in, O_CLOEXEC) < 0) {
                        *ret_error = -errno;
                        break;
                }
                if (pipe2(out, O_CLOEXEC) < 0) {
                        *ret_error = -errno;
                        close(in[0]);
                        close(in[1]);
                        break;
                }
                c[started].pid = spawn_io(b, (char *[]){self, "--client", period, NULL}, in[0], out[1]);
                close(in[0]);
                close(out[1]);
                if (c[started].pid < 0) {
                        *ret_error = -EIO;
                        close(in[1]);
                        close(out[0]);
                        break;
                }
                c[started].in = in[1];
                c[started].out = out[0];
        }
        return started;
}

/* Ends the clients; the calls and signals they counted, summed. */
static void stop_clients(struct client *c, size_t n, unsigned long long *calls, unsigned long long *signals,
                         unsigned long long *errors)
{
        *calls = *signals = *errors = 0;
        for (size_t i = 0; i < n; i++)
                if (c[i].in >= 0)
                        close(c[i].in);
        for (size_t i = 0; i < n; i++) {
                char line[128] = "";
                unsigned long long a = 0, s = 0, e = 0;
                ssize_t got = read(c[i].out, line, sizeof(line) - 1);
                if (got > 0) {
                        line[got] = '\0';
                        if (sscanf(line, "%llu %llu %llu", &a, &s, &e) == 3) {
                                *calls += a;
                                *signals += s;
                                *errors += e;
                        }
                }
                close(c[i].out);
                waitpid(c[i].pid, NULL, 0);
        }
}

/* Starts this program again in a mode of its own (--floor, --hog), its stdout to a pipe when ret_out. */
static pid_t spawn_self(const struct bench *b, const char *mode, int *ret_out)
{
        char self[300];
        ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
        int out[2] = {-1, -1};
        pid_t pid;

        if (len < 0 || (ret_out && pipe2(out, O_CLOEXEC) < 0))
                return -1;
        self[len] = '\0';
        pid = spawn_io(b, (char *[]){self, (char *) mode, NULL}, -1, out[1]);
        if (out[1] >= 0)
                close(out[1]);
        if (ret_out)
                *ret_out = out[0];
        return pid;
}

/* The floor's samples from its pipe: how many were read. */
static size_t read_floor(int fd, usec_t *late, size_t max)
{
        FILE *f = fdopen(fd, "re");
        unsigned long long v;
        size_t n = 0;

        if (!f) {
                close(fd);
                return 0;
        }
        while (n < max && fscanf(f, "%llu", &v) == 1)
                late[n++] = v;
        fclose(f);
        return n;
}

/* What systemd's Nice= or CPUSchedulingPolicy= would give chaird, from BENCH_DAEMON_SCHED, for this thread
 * and the threads it starts (the daemon's bus thread); undone by sched_reset(). */
static int sched_apply(void)
{
        const char *v = getenv("BENCH_DAEMON_SCHED");
        int n;

        if (!v || !*v)
                return 0;
        if (sscanf(v, "nice:%d", &n) == 1)
                return setpriority(PRIO_PROCESS, 0, n) < 0 ? -errno : 0;
        if (sscanf(v, "rr:%d", &n) == 1)
                return sched_setscheduler(0, SCHED_RR, &(struct sched_param){.sched_priority = n}) < 0
                               ? -errno
                               : 0;
        if (sscanf(v, "fifo:%d", &n) == 1)
                return sched_setscheduler(0, SCHED_FIFO, &(struct sched_param){.sched_priority = n}) < 0
                               ? -errno
                               : 0;
        return -EINVAL;
}

static void sched_reset(void)
{
        sched_setscheduler(0, SCHED_OTHER, &(struct sched_param){0});
        setpriority(PRIO_PROCESS, 0, 0);
}

/* One timing run: prints its row, and its p99 lateness as a ratio to the bare timer's in *ret_ratio. */
static int run_timing(struct bench *b, const char *label, int clients, int period_msec, int hogs,
                      double *ret_ratio)
{
        struct options o = {
                .config_path = b->config,
                .program_dirs = (char *[]){b->timing_dir, NULL},
                .state_dir = b->sim.dir,
                .time_scale = 1.0,
                .control_group = (char *) "chair",
        };
        struct client c[FLOOD_CLIENTS];
        pid_t hog[HOGS], floor_pid = -1;
        int floor_fd = -1;
        static usec_t floor_late[SETPOINTS];
        size_t started = 0, n_floor = 0;
        struct timing *t = calloc(1, sizeof(*t));
        unsigned long long calls = 0, signals = 0, errors = 0;
        int saved_stderr = dup(STDERR_FILENO),
            log_fd = open(b->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        int r;

        if (!t || saved_stderr < 0 || log_fd < 0) {
                free(t);
                if (saved_stderr >= 0)
                        close(saved_stderr);
                if (log_fd >= 0)
                        close(log_fd);
                return -EIO;
        }
        dup2(log_fd, STDERR_FILENO); /* the daemon's log lines go with the others */
        close(log_fd);
        r = sched_apply();
        if (r >= 0)
                r = daemon_new(&o, &t->daemon);
        if (r >= 0)
                r = api_new(t->daemon, &t->api);
        if (r >= 0 && clients > 0) {
                started = start_clients(b, c, (size_t) clients, period_msec, &r);
                t->clients = c;
                t->n_clients = started;
        }
        if (r >= 0)
                r = sd_event_add_time_relative(daemon_event(t->daemon), NULL, CLOCK_MONOTONIC,
                                               1500 * USEC_PER_MSEC, 0, on_start, t);
        if (r >= 0) /* the program takes 10 s, and the body scan a few before it */
                r = sd_event_add_time_relative(daemon_event(t->daemon), NULL, CLOCK_MONOTONIC,
                                               60 * USEC_PER_SEC, 0, on_timing_timeout, t);
        for (int i = 0; i < hogs; i++)
                hog[i] = spawn_self(b, "--hog", NULL);
        if (r >= 0)
                floor_pid = spawn_self(b, "--floor", &floor_fd);
        if (r >= 0)
                r = daemon_run(t->daemon);
        for (int i = 0; i < hogs; i++)
                if (hog[i] > 0) {
                        kill(hog[i], SIGKILL);
                        waitpid(hog[i], NULL, 0);
                }
        if (floor_fd >= 0)
                n_floor = read_floor(floor_fd, floor_late, SETPOINTS);
        if (floor_pid > 0)
                waitpid(floor_pid, NULL, 0);
        stop_clients(c, started, &calls, &signals, &errors);
        api_free(t->api);
        daemon_free(t->daemon);
        sched_reset();
        dup2(saved_stderr, STDERR_FILENO);
        close(saved_stderr);
        if (t->timed_out) {
                char json[4096] = "";
                sim_command(&b->sim, "state", json, sizeof(json));
                printf("| %s | did not finish within 60 s: chaird was %s; chair-sim: %s | | | | %llu calls, "
                       "%llu signals received, %llu errors |\n",
                       label, t->state_at_timeout, strstr(json, "\"heartbeat_ok\"") ?: "?", calls, signals,
                       errors);
                fflush(stdout);
                _cleanup_free_ char *log = read_text(b->log);
                fprintf(stderr, "bench-daemon: chair-sim's state: %s\n", json);
                fprintf(stderr, "bench-daemon: chaird's log ends:\n%s\n",
                        log ? log + (strlen(log) > 1500 ? strlen(log) - 1500 : 0) : "");
                free(t);
                *ret_ratio = NAN;
                return 0;
        }
        if (r < 0 || t->error < 0 || !t->ended || t->n != SETPOINTS) {
                fprintf(stderr, "bench-daemon: the timing run '%s' failed (%s); see %s\n", label,
                        strerror(-(r < 0          ? r
                                   : t->error < 0 ? t->error
                                                  : EIO)),
                        b->log);
                free(t);
                return -EIO;
        }
        double p50 = percentile(t->late, t->n, 0.50), p99 = percentile(t->late, t->n, 0.99);
        double f50 = percentile(floor_late, n_floor, 0.50), f99 = percentile(floor_late, n_floor, 0.99);
        printf("| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.2fx | %llu |", label, p50, p99,
               (double) t->late[t->n - 1], f50, f99, p99 / f99, (unsigned long long) t->drift);
        *ret_ratio = p99 / f99;
        if (clients > 0)
                printf(" %llu calls, %llu signals received, %llu errors |\n", calls, signals, errors);
        else
                printf(" |\n");
        fflush(stdout);
        free(t);
        return 0;
}

/* A client: listens to every PropertiesChanged of chaird and calls GetAll and GetManagedObjects in turn,
 * every period_msec (0: the next as soon as the last returns). Runs until its stdin closes; prints
 * "calls signals errors". */
struct client_state {
        sd_bus *bus;
        bool in_flight;
        unsigned long long calls, signals, errors;
        int period_msec;
};

static int client_call(struct client_state *c);

static int on_client_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct client_state *c = userdata;

        c->in_flight = false;
        if (sd_bus_message_is_method_error(m, NULL)) {
                if (c->errors++ == 0) /* the first one of each client, to tell what they were */
                        fprintf(stderr, "client: after %llu calls: %s: %s\n", c->calls,
                                sd_bus_message_get_error(m)->name, sd_bus_message_get_error(m)->message);
        } else
                c->calls++;
        return c->period_msec ? 0 : client_call(c);
}

static int client_call(struct client_state *c)
{
        bool all = (c->calls + c->errors) % 2 == 0;
        int r;

        if (c->in_flight)
                return 0;
        r = all ? sd_bus_call_method_async(c->bus, NULL, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH,
                                           "org.freedesktop.DBus.Properties", "GetAll", on_client_reply, c,
                                           "s", CHAIRD_INTERFACE)
                : sd_bus_call_method_async(c->bus, NULL, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH,
                                           "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                                           on_client_reply, c, "");
        c->in_flight = r >= 0;
        return 0;
}

static int on_client_signal(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        ((struct client_state *) userdata)->signals++;
        return 0;
}

static int on_client_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct client_state *c = userdata;

        sd_event_source_set_time(s, usec + (usec_t) c->period_msec * USEC_PER_MSEC);
        return client_call(c);
}

static int on_client_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int client_main(int period_msec)
{
        struct client_state c = {.period_msec = period_msec};
        sd_event *e = NULL;
        sigset_t all;

        sigfillset(&all);
        sigprocmask(SIG_UNBLOCK, &all, NULL); /* the daemon that spawned it blocks some */
        if (sd_event_new(&e) < 0 || sd_bus_open_system(&c.bus) < 0 || sd_bus_attach_event(c.bus, e, 0) < 0 ||
            sd_bus_match_signal(c.bus, NULL, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH,
                                "org.freedesktop.DBus.Properties", "PropertiesChanged", on_client_signal,
                                &c) < 0 ||
            sd_bus_match_signal(c.bus, NULL, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH, CHAIRD_INTERFACE,
                                "Finished", on_client_signal, &c) < 0 ||
            sd_event_add_io(e, NULL, STDIN_FILENO, EPOLLIN, on_client_stdin, NULL) < 0)
                return 1;
        if (period_msec > 0) {
                sd_event_source *timer = NULL;
                if (sd_event_add_time_relative(e, &timer, CLOCK_MONOTONIC, 0, 0, on_client_timer, &c) < 0 ||
                    sd_event_source_set_enabled(timer, SD_EVENT_ON) < 0)
                        return 1;
                sd_event_source_set_floating(timer, true);
                sd_event_source_unref(timer);
        } else
                client_call(&c);
        sd_event_loop(e);
        printf("%llu %llu %llu\n", c.calls, c.signals, c.errors);
        sd_bus_flush_close_unref(c.bus);
        sd_event_unref(e);
        return 0;
}

/* The floor of the timing rows: a bare sd-event timer at the setpoints' period (what cyclictest measures),
 * in a process of its own under the same load, started with the timeline. Prints the lateness of each of its
 * SETPOINTS wakeups, one per line. */
struct floor_state {
        usec_t late[SETPOINTS];
        size_t n;
};

static int on_floor_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct floor_state *f = userdata;

        f->late[f->n++] = now_usec() - usec;
        if (f->n == SETPOINTS)
                return sd_event_exit(sd_event_source_get_event(s), 0);
        return sd_event_source_set_time(s, usec + SETPOINT_SPACING_USEC);
}

static int floor_main(void)
{
        static struct floor_state f;
        sd_event *e = NULL;
        sd_event_source *timer = NULL;

        /* The same start as the timeline's, 1.5 s after chaird's loop starts; accuracy 1 us, like the
         * engine's. */
        if (sd_event_new(&e) < 0 ||
            sd_event_add_time_relative(e, &timer, CLOCK_MONOTONIC, 1500 * USEC_PER_MSEC, 1, on_floor_timer,
                                       &f) < 0 ||
            sd_event_source_set_enabled(timer, SD_EVENT_ON) < 0 || sd_event_loop(e) < 0)
                return 1;
        for (size_t i = 0; i < f.n; i++)
                printf("%llu\n", (unsigned long long) f.late[i]);
        sd_event_source_unref(timer);
        sd_event_unref(e);
        return 0;
}

/* A CPU hog: spins until killed. */
_Noreturn static void hog_main(void)
{
        volatile unsigned long spin = 0;

        for (;;)
                spin++;
}

static int setup_files(struct bench *b)
{
        char *text = NULL, port[32], path[300];

        snprintf(b->log, sizeof(b->log), "%s/bench.log", b->sim.dir);
        snprintf(b->config, sizeof(b->config), "%s/chaird.yaml", b->sim.dir);
        snprintf(b->bare, sizeof(b->bare), "%s/chaird-no-heat.yaml", b->sim.dir);
        snprintf(b->stock, sizeof(b->stock), "%s/programs", SOURCE_ROOT);
        snprintf(b->empty, sizeof(b->empty), "%s/no-programs", b->sim.dir);
        snprintf(b->timing_dir, sizeof(b->timing_dir), "%s/timing", b->sim.dir);
        snprintf(port, sizeof(port), "port: %d", b->sim.port);
        if (mkdir(b->empty, 0755) < 0 || mkdir(b->timing_dir, 0755) < 0)
                return -errno;
        text = read_text(SOURCE_ROOT "/config/sim.yaml");
        if (!text)
                return -EIO;
        text = replace_text(text, "port: 15020", port);
        bool ok = write_text(b->config, text);
        char *heaters = strstr(text, "heaters:\n"),
             *after = heaters ? strstr(heaters, "foot-rollers:") : NULL;
        if (after) {
                memmove(heaters, after, strlen(after) + 1);
                ok = ok && write_text(b->bare, text);
        }
        free(text);
        /* The program the synthetic timeline runs as: ten phases, for their names. */
        snprintf(path, sizeof(path), "%s/timing.yaml", b->timing_dir);
        FILE *f = fopen(path, "we");
        if (!ok || !f)
                return -EIO;
        fputs("name: Timing\nduration: 10m\nphases:\n", f);
        for (int i = 0; i < 10; i++)
                fprintf(f, "  - {name: p%d, duration: 1m, foot-rollers: {speed: 1}}\n", i);
        return fclose(f) == 0 ? 0 : -EIO;
}

/* Stops what the bench started; removes its files unless keep_log (a failure: the log tells why). */
static void cleanup(struct bench *b, bool keep_log)
{
        char path[300];

        stop_process(&b->chaird);
        stop_process(&b->dbus);
        if (keep_log) {
                stop_process(&b->sim.sim);
                return;
        }
        sim_cleanup(&b->sim);
        /* sim_cleanup removes the directory only once it is empty. */
        const char *files[] = {"bus.sock",           "bus.conf", "chaird.yaml", "chaird-no-heat.yaml",
                               "timing/timing.yaml", "timing",   "no-programs", "bench.log"};
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                snprintf(path, sizeof(path), "%s/%s", b->sim.dir, files[i]);
                if (unlink(path) < 0)
                        rmdir(path);
        }
        rmdir(b->sim.dir);
}

int main(int argc, char **argv)
{
        struct bench b = {};
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (argc >= 2 &&
            (streq(argv[1], "--client") || streq(argv[1], "--floor") || streq(argv[1], "--hog")))
                sched_reset(); /* what chaird's thread was given is not theirs */
        if (argc == 3 && streq(argv[1], "--client"))
                return client_main(atoi(argv[2]));
        if (argc == 2 && streq(argv[1], "--floor"))
                return floor_main();
        if (argc == 2 && streq(argv[1], "--hog"))
                hog_main();
        if (argc < 2) {
                fprintf(stderr, "Usage: bench-daemon BUILD_DIR [latency] [idle] [timing] [load] [flood]\n");
                return 2;
        }
        bool all = argc == 2, latency = all, idle = all, timing = all, load = all, flood = false;
        for (int i = 2; i < argc; i++) {
                latency = latency || streq(argv[i], "latency");
                idle = idle || streq(argv[i], "idle");
                timing = timing || streq(argv[i], "timing");
                load = load || streq(argv[i], "load");
                flood = flood || streq(argv[i], "flood");
        }
        b.builddir = argv[1];
        log_setup(false);
        if (sim_start(&b.sim, b.builddir, false, "1") < 0 || setup_files(&b) < 0 || start_bus(&b) < 0 ||
            sd_bus_open_system(&bus) < 0) {
                fprintf(stderr, "bench-daemon: cannot start chair-sim and a private bus\n");
                cleanup(&b, false);
                return 1;
        }
        printf("# chaird benchmarks (chair-sim over Modbus TCP, a private system bus)\n\n");
        fflush(stdout);
        r = 0;
        if (latency || idle)
                r = bench_latency(&b, bus, COIL_HEATER_LUMBAR, latency);
        if (r >= 0 && idle)
                r = bench_idle(&b, bus);
        stop_process(&b.chaird);
        if (r >= 0 && (timing || load || flood)) {
                printf("## Timing: %d setpoints %llu ms apart at time scale 1 (us)\n\n", SETPOINTS,
                       (unsigned long long) (SETPOINT_SPACING_USEC / USEC_PER_MSEC));
                printf("| load | lateness p50 | p99 | max | bare timer p50 | bare timer p99 | p99 / bare "
                       "p99 | end drift | clients saw |\n|---|---|---|---|---|---|---|---|---|\n");
                fflush(stdout);
        }
        /* Each load RUNS times: a single p99 of a thousand wakeups on a shared VM is mostly noise. */
        static const struct {
                const char *label;
                int clients, period_msec, hogs;
                bool is_load;
        } loads[] = {
                {"none", 0, 0, 0, false},
                {"20 clients, 20 calls/s each", CLIENTS, CLIENT_PERIOD_MSEC, 0, true},
                {"20 clients, back to back", CLIENTS, 0, 0, true},
                {"2 CPU hogs", 0, 0, HOGS, true},
                {"30 clients back to back and 2 CPU hogs", FLOOD_CLIENTS, 0, HOGS, true},
        };
        double ratio[ELEMENTSOF(loads)][RUNS] = {};
        bool ran[ELEMENTSOF(loads)] = {};
        for (size_t run = 0; run < RUNS; run++)
                for (size_t i = 0; r >= 0 && i < ELEMENTSOF(loads); i++) {
                        bool saturated = loads[i].clients == FLOOD_CLIENTS;
                        if (!(loads[i].is_load ? load : timing) && !(flood && saturated))
                                continue;
                        r = run_timing(&b, loads[i].label, loads[i].clients, loads[i].period_msec,
                                       loads[i].hogs, &ratio[i][run]);
                        ran[i] = true;
                }
        if (r >= 0 && (timing || load || flood)) {
                printf("\n## Setpoint lateness p99 as a ratio to the bare timer's, over %d runs\n\n| load | "
                       "median | min | max |\n|---|---|---|---|\n",
                       RUNS);
                for (size_t i = 0; i < ELEMENTSOF(loads); i++) {
                        if (!ran[i])
                                continue;
                        qsort(ratio[i], RUNS, sizeof(double), compare_double);
                        printf("| %s | %.2fx | %.2fx | %.2fx |\n", loads[i].label, ratio[i][RUNS / 2],
                               ratio[i][0], ratio[i][RUNS - 1]);
                }
        }
        if (r < 0)
                fprintf(stderr, "bench-daemon: failed: %s (log: %s)\n", strerror(-r), b.log);
        cleanup(&b, r < 0);
        return r < 0 ? 1 : 0;
}
