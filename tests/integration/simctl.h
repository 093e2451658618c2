/* simctl.h: chair-sim for the C integration tests: start it (over TCP, or over RTU through a socat pty
 * pair), talk to its control socket, and read numbers out of its state. */
#pragma once

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

extern char **environ;

struct simctl {
        pid_t sim, socat;
        char dir[64];
        char control[96];
        char pty_chaird[96], pty_board[96]; /* RTU: the two ends of the pty pair */
        int port;
};

static inline pid_t spawn(char *const argv[])
{
        pid_t pid;
        return posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) == 0 ? pid : -1;
}

static inline void stop_process(pid_t *pid)
{
        if (*pid > 0) {
                kill(*pid, SIGTERM);
                waitpid(*pid, NULL, 0);
        }
        *pid = 0;
}

static inline int free_tcp_port(void)
{
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

        if (fd >= 0 && bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0 &&
            getsockname(fd, (struct sockaddr *) &sa, &len) == 0)
                port = ntohs(sa.sin_port);
        close(fd);
        return port;
}

/* Sends one control command and puts chair-sim's one-line answer into reply. Returns 0 or -errno. */
static inline int sim_command(const struct simctl *s, const char *line, char *reply, size_t size)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        size_t got = 0;
        int fd;

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->control);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
            write(fd, line, strlen(line)) < 0 || write(fd, "\n", 1) < 0) {
                int r = -errno;
                if (fd >= 0)
                        close(fd);
                return r;
        }
        while (got + 1 < size) {
                ssize_t n = read(fd, reply + got, size - 1 - got);
                if (n <= 0)
                        break;
                got += (size_t) n;
                if (reply[got - 1] == '\n')
                        break;
        }
        reply[got] = '\0';
        close(fd);
        return got > 0 ? 0 : -EIO;
}

static inline bool wait_for_path(const char *path)
{
        for (int i = 0; i < 500; i++) {
                if (access(path, F_OK) == 0)
                        return true;
                usleep(10000);
        }
        return false;
}

/* Starts chair-sim; rtu selects a socat pty pair instead of TCP. */
static inline int sim_start(struct simctl *s, const char *builddir, bool rtu, const char *time_scale)
{
        char sim[300], tcp[64], link_a[128], link_b[128];
        char buf[128];

        if (!s->dir[0]) {
                snprintf(s->dir, sizeof(s->dir), "/tmp/chaird-test-XXXXXX");
                if (!mkdtemp(s->dir))
                        return -errno;
        }
        snprintf(s->control, sizeof(s->control), "%s/sim.sock", s->dir);
        unlink(s->control);
        snprintf(sim, sizeof(sim), "%s/tools/chair-sim/chair-sim", builddir);
        if (rtu) {
                snprintf(s->pty_chaird, sizeof(s->pty_chaird), "%s/pty-chaird", s->dir);
                snprintf(s->pty_board, sizeof(s->pty_board), "%s/pty-board", s->dir);
                snprintf(link_a, sizeof(link_a), "pty,raw,echo=0,link=%s", s->pty_chaird);
                snprintf(link_b, sizeof(link_b), "pty,raw,echo=0,link=%s", s->pty_board);
                if (!s->socat) {
                        s->socat = spawn((char *[]){"/usr/bin/socat", link_a, link_b, NULL});
                        if (s->socat < 0 || !wait_for_path(s->pty_chaird) || !wait_for_path(s->pty_board))
                                return -EIO;
                }
                s->sim = spawn((char *[]){sim, "--rtu", s->pty_board, "--control", s->control,
                                          "--time-scale", (char *) time_scale, NULL});
        } else {
                if (!s->port)
                        s->port = free_tcp_port();
                snprintf(tcp, sizeof(tcp), "127.0.0.1:%d", s->port);
                s->sim = spawn((char *[]){sim, "--tcp", tcp, "--control", s->control, "--time-scale",
                                          (char *) time_scale, NULL});
        }
        if (s->sim < 0 || !wait_for_path(s->control))
                return -EIO;
        /* The control socket is up after the Modbus side: one answer means both are. The socket's path
         * appears at bind(), a moment before listen(): a refused connection there means "not yet". */
        for (int i = 0;; i++) {
                int r = sim_command(s, "state", buf, sizeof(buf));
                if (r != -ECONNREFUSED || i == 100)
                        return r;
                usleep(10000);
        }
}

static inline void sim_stop(struct simctl *s)
{
        stop_process(&s->sim);
}

static inline void sim_cleanup(struct simctl *s)
{
        stop_process(&s->sim);
        stop_process(&s->socat);
        unlink(s->control);
        rmdir(s->dir);
}

/* The number after "key": in the object that follows "object": in chair-sim's state (NAN if absent). The
 * first object of that name counts: heaters come before valves, so "calves" finds the heater. */
static inline double state_number(const char *json, const char *object, const char *key)
{
        char pattern[64];
        const char *p;

        snprintf(pattern, sizeof(pattern), "\"%s\":{", object);
        p = strstr(json, pattern);
        if (!p)
                return __builtin_nan("");
        snprintf(pattern, sizeof(pattern), "\"%s\":", key);
        p = strstr(p, pattern);
        if (!p)
                return __builtin_nan("");
        p += strlen(pattern);
        if (strncmp(p, "true", 4) == 0)
                return 1;
        if (strncmp(p, "false", 5) == 0)
                return 0;
        return strtod(p, NULL);
}

static inline char *read_text(const char *path)
{
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        long size;

        if (f && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
            (buf = malloc((size_t) size + 1))) {
                if (fread(buf, 1, (size_t) size, f) != (size_t) size) {
                        free(buf);
                        buf = NULL;
                } else
                        buf[size] = '\0';
        }
        if (f)
                fclose(f);
        return buf;
}

/* Replaces the first occurrence of from in text (reallocated). */
static inline char *replace_text(char *text, const char *from, const char *to)
{
        const char *hit = strstr(text, from);
        size_t head, tail;
        char *out;

        if (!hit)
                abort(); /* the shipped config changed under the tests */
        head = (size_t) (hit - text);
        tail = strlen(hit + strlen(from));
        out = malloc(head + strlen(to) + tail + 1);
        if (!out)
                abort();
        memcpy(out, text, head);
        memcpy(out + head, to, strlen(to));
        memcpy(out + head + strlen(to), hit + strlen(from), tail + 1);
        free(text);
        return out;
}

/* Loads a shipped config (config/sim.yaml, or sim-rtu.yaml) with its bus pointed at this chair-sim, and
 * optionally the text after replaced by extra. Prints diagnostics; NULL if it does not load. */
static inline struct chair_config *sim_load_config(const struct simctl *s, bool rtu, const char *after,
                                                   const char *extra)
{
        char path[512], bus[128];
        struct chair_config *c = NULL;
        struct diag_list d = {};
        char *text;

        snprintf(path, sizeof(path), "%s/config/%s", SOURCE_ROOT, rtu ? "sim-rtu.yaml" : "sim.yaml");
        text = read_text(path);
        if (!text)
                return NULL;
        if (rtu)
                snprintf(bus, sizeof(bus), "device: %s", s->pty_chaird);
        else
                snprintf(bus, sizeof(bus), "port: %d", s->port);
        text = replace_text(text, rtu ? "device: /tmp/chair-sim-rtu" : "port: 15020", bus);
        if (after)
                text = replace_text(text, after, extra);
        if (chair_config_load("test.yaml", text, strlen(text), &d, &c) < 0)
                c = NULL;
        diag_print(&d, stdout);
        diag_list_clear(&d);
        free(text);
        return c;
}
