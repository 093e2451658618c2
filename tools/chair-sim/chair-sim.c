/* chair-sim: the virtual chair. A Modbus slave (TCP or RTU) implementing the reference board, with
 * physics, and a control socket for reading the physical truth and injecting faults. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <math.h>
#include <modbus.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "build-config.h"
#include "gpio-side.h"
#include "schema.h"
#include "sim.h"
#include "util.h"

#define TICK_USEC        (20 * USEC_PER_MSEC)
#define DEFAULT_HOST     "127.0.0.1"
#define DEFAULT_PORT     15020
#define CONTROL_LINE_MAX 256
/* The largest register table: every address of every table is below it. */
#define TABLE_SIZE_MAX _BOARD_IR_MAX
_Static_assert((int) _BOARD_COIL_MAX <= (int) TABLE_SIZE_MAX &&
                       (int) _BOARD_DI_MAX <= (int) TABLE_SIZE_MAX &&
                       (int) _BOARD_HR_MAX <= (int) TABLE_SIZE_MAX,
               "TABLE_SIZE_MAX is not the largest table");

struct server {
        sd_event *event;
        modbus_t *modbus;
        bool rtu;
        struct sim sim;
        modbus_mapping_t mapping; /* points into sim's register image */
        uint64_t last_step_usec;

        uint64_t drop_until_usec; /* "comm drop": requests before this are read and ignored */
        double noise_rate;        /* "comm noise": the fraction of replies sent corrupted (RTU) */
        uint64_t rng;

        /* When a master's write last changed each coil and holding register (CLOCK_MONOTONIC, 0: never), for
         * the "changed" command: benchmarks time a command from its sender to the board with it. */
        uint64_t coil_changed_usec[_BOARD_COIL_MAX];
        uint64_t holding_changed_usec[_BOARD_HR_MAX];

        /* "stick": coils and holding registers that keep their stuck value whatever a master writes (a
         * welded relay, a dead driver stage); the master reads back the stuck value. written is what the
         * master last wrote to each, which it takes once "clear" frees it. */
        bool coil_stuck[_BOARD_COIL_MAX], holding_stuck[_BOARD_HR_MAX];
        uint8_t coil_stuck_value[_BOARD_COIL_MAX], coil_written[_BOARD_COIL_MAX];
        uint16_t holding_stuck_value[_BOARD_HR_MAX], holding_written[_BOARD_HR_MAX];

        /* "refuse": registers (and coils, discrete inputs) whose every request answers exception 2, illegal
         * data address, as a board whose sensor channel died would, until "clear". By sim_table. */
        bool refused[_SIM_TABLE_MAX][TABLE_SIZE_MAX];

        const char *control_path;

        struct gpio_side *gpio; /* --gpio-sim: motors on a gpio-sim chip's lines */
        sd_event_source *edge;  /* the next hall edge of a motor on that chip */
};

struct control_client {
        struct server *server;
        sd_event_source *source;
        char buf[CONTROL_LINE_MAX];
        size_t len;
};

/* xorshift64: reproducible noise for a given --seed. */
static double random_unit(struct server *srv)
{
        srv->rng ^= srv->rng << 13;
        srv->rng ^= srv->rng >> 7;
        srv->rng ^= srv->rng << 17;
        return (double) (srv->rng >> 11) / (double) (1ULL << 53);
}

/* The physics up to now, and the GPIO lines after it. */
static void advance(struct server *srv)
{
        uint64_t now = now_usec();

        sim_step(&srv->sim, (double) (now - srv->last_step_usec) / USEC_PER_SEC, now);
        srv->last_step_usec = now;
        if (!srv->gpio)
                return;
        gpio_side_sync(srv->gpio, &srv->sim, now);
        /* A hall line changes when the motor gets there, not on the next tick: chaird counts every edge. */
        double next = gpio_side_next_edge(srv->gpio, &srv->sim);
        if (next * USEC_PER_SEC < TICK_USEC) {
                sd_event_source_set_time(srv->edge, now + (uint64_t) (next * USEC_PER_SEC) + 1);
                sd_event_source_set_enabled(srv->edge, SD_EVENT_ONESHOT);
        } else
                sd_event_source_set_enabled(srv->edge, SD_EVENT_OFF);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
        advance(userdata);
        sd_event_source_set_time(s, next_period(usec, TICK_USEC, now_usec()));
        return 0;
}

static int on_edge(sd_event_source *s, uint64_t usec, void *userdata)
{
        advance(userdata);
        return 0;
}

/* A frame that looks like a reply but fails its CRC check, as line noise would leave it. */
static void send_corrupted_reply(struct server *srv, const uint8_t *req)
{
        uint8_t frame[] = {req[0], req[1], 0x02, 0xde, 0xad, 0x00, 0x00};
        if (write(modbus_get_socket(srv->modbus), frame, sizeof(frame)) < 0)
                fprintf(stderr, "chair-sim: failed to send a corrupted frame: %m\n");
}

/* What a request writes: table SIM_COILS or SIM_HOLDING, and addresses [address, address + count); count 0
 * for a read. */
struct written_span {
        enum sim_table table;
        unsigned address, count;
};

static int check_request(struct server *srv, const uint8_t *req, int len, bool *ret_heartbeat,
                         struct written_span *ret_span)
{
        int off = modbus_get_header_length(srv->modbus);
        unsigned fn, addr, count;
        enum sim_table table;
        bool write = false;

        if (len <= off)
                return MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE;
        fn = req[off];
        if (fn < 0x01 || (fn > 0x06 && fn != 0x0f && fn != 0x10))
                return MODBUS_EXCEPTION_ILLEGAL_FUNCTION;
        if (len < off + 5)
                return MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE;
        addr = (unsigned) req[off + 1] << 8 | req[off + 2];
        count = (unsigned) req[off + 3] << 8 | req[off + 4];
        switch (fn) {
        case 0x01:
                table = SIM_COILS;
                break;
        case 0x02:
                table = SIM_DISCRETES;
                break;
        case 0x03:
                table = SIM_HOLDING;
                break;
        case 0x04:
                table = SIM_INPUTS;
                break;
        case 0x05:
                table = SIM_COILS, count = 1, write = true;
                break;
        case 0x06:
                table = SIM_HOLDING, count = 1, write = true;
                break;
        case 0x0f:
                table = SIM_COILS, write = true;
                break;
        case 0x10:
                table = SIM_HOLDING, write = true;
                break;
        default:
                return MODBUS_EXCEPTION_ILLEGAL_FUNCTION;
        }
        if (!sim_mapped(table, addr, count))
                return MODBUS_EXCEPTION_ILLEGAL_DATA_ADDRESS;
        for (unsigned a = addr; a < addr + count; a++) /* mapped: a is below the table's size */
                if (srv->refused[table][a])
                        return MODBUS_EXCEPTION_ILLEGAL_DATA_ADDRESS;
        if (write)
                *ret_span = (struct written_span){table, addr, count};
        if (write && table == SIM_HOLDING) {
                for (unsigned i = 0; i < count; i++) {
                        int at = fn == 0x06 ? off + 3 : off + 6 + 2 * (int) i;
                        if (at + 1 >= len)
                                return MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE;
                        if (!sim_holding_value_ok(addr + i, (unsigned) req[at] << 8 | req[at + 1]))
                                return MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE;
                }
                *ret_heartbeat = addr <= BOARD_HR_HEARTBEAT && BOARD_HR_HEARTBEAT < addr + count;
        }
        return 0;
}

/* A stuck output takes no write: what was written is kept for when it is freed, and it holds its value. */
static void hold_stuck(struct server *srv, const struct written_span *span)
{
        for (unsigned a = span->address; a < span->address + span->count; a++) {
                if (span->table == SIM_COILS && srv->coil_stuck[a]) {
                        srv->coil_written[a] = srv->sim.coils[a];
                        srv->sim.coils[a] = srv->coil_stuck_value[a];
                } else if (span->table == SIM_HOLDING && srv->holding_stuck[a]) {
                        srv->holding_written[a] = srv->sim.holding[a];
                        srv->sim.holding[a] = srv->holding_stuck_value[a];
                }
        }
}

/* Reads one request from the current socket and answers it. Returns -1 when the connection is gone. */
static int serve_one(struct server *srv)
{
        uint8_t req[MODBUS_RTU_MAX_ADU_LENGTH > MODBUS_TCP_MAX_ADU_LENGTH ? MODBUS_RTU_MAX_ADU_LENGTH
                                                                          : MODBUS_TCP_MAX_ADU_LENGTH];
        bool heartbeat = false;
        struct written_span span = {SIM_COILS, 0, 0};
        uint64_t now;
        int len, exception;

        len = modbus_receive(srv->modbus, req);
        if (len < 0) {
                if (!srv->rtu)
                        return -1;
                modbus_flush(srv->modbus); /* a garbled request: drop what is left of it */
                return 0;
        }
        if (len == 0) /* for another unit */
                return 0;
        now = now_usec();
        if (now < srv->drop_until_usec)
                return 0;
        if (srv->rtu && srv->noise_rate > 0.0 && random_unit(srv) < srv->noise_rate) {
                send_corrupted_reply(srv, req);
                return 0;
        }
        exception = check_request(srv, req, len, &heartbeat, &span);
        if (exception) {
                modbus_reply_exception(srv->modbus, req, (unsigned) exception);
                return 0;
        }
        uint8_t coils[_BOARD_COIL_MAX];
        uint16_t holding[_BOARD_HR_MAX];
        memcpy(coils, srv->sim.coils, sizeof(coils));
        memcpy(holding, srv->sim.holding, sizeof(holding));
        sim_publish(&srv->sim);
        if (modbus_reply(srv->modbus, req, len, &srv->mapping) < 0 && !srv->rtu)
                return -1;
        hold_stuck(srv, &span);
        for (size_t i = 0; i < _BOARD_COIL_MAX; i++)
                if (coils[i] != srv->sim.coils[i])
                        srv->coil_changed_usec[i] = now;
        for (size_t i = 0; i < _BOARD_HR_MAX; i++)
                if (holding[i] != srv->sim.holding[i])
                        srv->holding_changed_usec[i] = now;
        sim_apply(&srv->sim, heartbeat, now);
        return 0;
}

static int on_modbus_client(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct server *srv = userdata;

        if (!srv->rtu)
                modbus_set_socket(srv->modbus, fd);
        if (serve_one(srv) < 0 || (!srv->rtu && (revents & (EPOLLHUP | EPOLLERR)))) {
                close(fd);
                sd_event_source_unref(s);
        }
        return 0;
}

static int on_modbus_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct server *srv = userdata;
        int client = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

        if (client < 0)
                return 0;
        if (sd_event_add_io(srv->event, NULL, client, EPOLLIN, on_modbus_client, srv) < 0)
                close(client);
        return 0;
}

/* Writes o as one line of JSON and frees it. */
static void answer_json(int fd, json_object *o)
{
        _cleanup_free_ char *line = NULL;

        if (!o)
                return;
        if (asprintf(&line, "%s\n",
                     json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE)) >= 0 &&
            write(fd, line, strlen(line)) < 0) {
                /* the client left; nothing to tell */
        }
        json_object_put(o);
}

static void reply(int fd, bool ok, const char *error)
{
        json_object *o = json_object_new_object();

        if (!o)
                return;
        json_object_object_add(o, "ok", json_object_new_boolean(ok));
        if (!ok)
                json_object_object_add(o, "error", json_object_new_string(error));
        answer_json(fd, o);
}

/* "stick coil N [VALUE]" / "stick holding N [VALUE]": the output holds VALUE (its present value when none
 * is given) from now on, whatever is written, until "clear". */
static void stick(struct server *srv, int fd, char **words, int n)
{
        bool coil = streq(words[1], "coil");
        unsigned long long addr, value;

        if (parse_unsigned(words[2], &addr) < 0 || addr > UINT16_MAX ||
            !sim_mapped(coil ? SIM_COILS : SIM_HOLDING, (unsigned) addr, 1))
                return reply(fd, false, "no such coil or holding register");
        if (n < 4)
                value = coil ? srv->sim.coils[addr] : srv->sim.holding[addr];
        else if (parse_unsigned(words[3], &value) < 0 || value > (coil ? 1 : 65535))
                return reply(fd, false, "a coil sticks at 0 or 1, a holding register at 0 to 65535");
        if (coil) {
                if (!srv->coil_stuck[addr])
                        srv->coil_written[addr] = srv->sim.coils[addr];
                srv->coil_stuck[addr] = true;
                srv->sim.coils[addr] = srv->coil_stuck_value[addr] = (uint8_t) value;
        } else {
                if (!srv->holding_stuck[addr])
                        srv->holding_written[addr] = srv->sim.holding[addr];
                srv->holding_stuck[addr] = true;
                srv->sim.holding[addr] = srv->holding_stuck_value[addr] = (uint16_t) value;
        }
        sim_apply(&srv->sim, false, now_usec());
        reply(fd, true, NULL);
}

/* Frees every stuck output: each takes what a master last wrote to it. */
static void unstick(struct server *srv)
{
        for (size_t a = 0; a < _BOARD_COIL_MAX; a++)
                if (srv->coil_stuck[a]) {
                        srv->coil_stuck[a] = false;
                        srv->sim.coils[a] = srv->coil_written[a];
                }
        for (size_t a = 0; a < _BOARD_HR_MAX; a++)
                if (srv->holding_stuck[a]) {
                        srv->holding_stuck[a] = false;
                        srv->sim.holding[a] = srv->holding_written[a];
                }
        sim_apply(&srv->sim, false, now_usec());
}

/* "refuse coil|discrete|holding|input N": every request whose range covers that address answers exception 2
 * from now on, until "clear". */
static void refuse(struct server *srv, int fd, char **words)
{
        static const char *const names[_SIM_TABLE_MAX] = {
                [SIM_COILS] = "coil",
                [SIM_DISCRETES] = "discrete",
                [SIM_HOLDING] = "holding",
                [SIM_INPUTS] = "input",
        };
        unsigned long long addr;
        int table = -1;

        for (int t = 0; t < _SIM_TABLE_MAX; t++)
                if (streq(words[1], names[t]))
                        table = t;
        if (table < 0)
                return reply(fd, false, "refuse takes coil, discrete, holding or input");
        if (parse_unsigned(words[2], &addr) < 0 || addr > UINT16_MAX ||
            !sim_mapped((enum sim_table) table, (unsigned) addr, 1))
                return reply(fd, false, "no such address in that table");
        srv->refused[table][addr] = true;
        reply(fd, true, NULL);
}

static void control_command(struct server *srv, int fd, char *line)
{
        char *words[4] = {};
        int n = 0;

        for (char *save = NULL, *w = strtok_r(line, " \t\r", &save); w && n < 4;
             w = strtok_r(NULL, " \t\r", &save))
                words[n++] = w;
        if (n == 0)
                return reply(fd, false, "empty command");

        if (streq(words[0], "state") && n == 1) {
                _cleanup_free_ char *json = NULL;
                size_t size = 0;
                FILE *f = open_memstream(&json, &size);
                if (!f)
                        return reply(fd, false, "out of memory");
                sim_publish(&srv->sim);
                sim_write_state(&srv->sim, f);
                fclose(f);
                if (write(fd, json, size) < 0)
                        return;
        } else if (streq(words[0], "fault") && n == 3) {
                int r = sim_inject(&srv->sim, words[1], words[2]);
                if (r == -ENOENT)
                        return reply(fd, false, "unknown actuator");
                if (r < 0)
                        return reply(fd, false, "that actuator cannot have that fault");
                reply(fd, true, NULL);
        } else if (streq(words[0], "estop") && n == 2 &&
                   (streq(words[1], "press") || streq(words[1], "release"))) {
                srv->sim.estop = streq(words[1], "press");
                reply(fd, true, NULL);
        } else if (streq(words[0], "comm") && n == 3 && streq(words[1], "drop")) {
                unsigned long long ms;
                if (parse_unsigned(words[2], &ms) < 0 || ms > 3600000)
                        return reply(fd, false, "comm drop takes milliseconds, 0 to 3600000");
                srv->drop_until_usec = now_usec() + ms * USEC_PER_MSEC;
                reply(fd, true, NULL);
        } else if (streq(words[0], "comm") && n == 3 && streq(words[1], "noise")) {
                double rate;
                if (parse_number(words[2], &rate) < 0 || rate < 0.0 || rate > 1.0)
                        return reply(fd, false, "comm noise takes a fraction, 0 to 1");
                if (!srv->rtu)
                        return reply(fd, false, "comm noise needs the RTU transport");
                srv->noise_rate = rate;
                reply(fd, true, NULL);
        } else if (streq(words[0], "changed") && n == 3 &&
                   (streq(words[1], "coil") || streq(words[1], "holding"))) {
                bool coil = streq(words[1], "coil");
                unsigned long long addr;
                if (parse_unsigned(words[2], &addr) < 0 || addr >= (coil ? _BOARD_COIL_MAX : _BOARD_HR_MAX))
                        return reply(fd, false, "no such coil or holding register");
                json_object *o = json_object_new_object();
                if (!o)
                        return;
                json_object_object_add(o, "ok", json_object_new_boolean(true));
                json_object_object_add(o, "usec",
                                       json_object_new_uint64((coil ? srv->coil_changed_usec
                                                                    : srv->holding_changed_usec)[addr]));
                answer_json(fd, o);
        } else if (streq(words[0], "stick") && n >= 3 &&
                   (streq(words[1], "coil") || streq(words[1], "holding"))) {
                stick(srv, fd, words, n);
        } else if (streq(words[0], "stick") && n >= 3 && streq(words[1], "line")) {
                int value = n < 4 ? -1 : streq(words[3], "1") ? 1 : streq(words[3], "0") ? 0 : -2;
                if (value == -2)
                        return reply(fd, false, "a line sticks at 0 or 1");
                if (!srv->gpio || gpio_side_stick(srv->gpio, words[2], value) < 0)
                        return reply(fd, false,
                                     "no relay line with a NAME_SENSE monitoring contact on the chip");
                advance(srv);
                reply(fd, true, NULL);
        } else if (streq(words[0], "refuse") && n == 3) {
                refuse(srv, fd, words);
        } else if (streq(words[0], "clear") && n == 1) {
                sim_clear_faults(&srv->sim);
                unstick(srv);
                memset(srv->refused, 0, sizeof(srv->refused));
                if (srv->gpio) { /* the lines as the chair stands, whatever a test drove them to */
                        gpio_side_unstick(srv->gpio);
                        gpio_side_resync(srv->gpio);
                        advance(srv);
                }
                srv->sim.estop = false;
                srv->drop_until_usec = 0;
                srv->noise_rate = 0.0;
                reply(fd, true, NULL);
        } else
                reply(fd, false,
                      "unknown command; expected state, fault, estop, comm, changed, stick, refuse or "
                      "clear");
}

static int on_control_client(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct control_client *c = userdata;
        ssize_t n = read(fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);

        if (n <= 0) {
                if (n < 0 && errno == EAGAIN)
                        return 0;
                close(fd);
                sd_event_source_unref(c->source);
                free(c);
                return 0;
        }
        c->len += (size_t) n;
        for (char *nl; (nl = memchr(c->buf, '\n', c->len));) {
                *nl = '\0';
                control_command(c->server, fd, c->buf);
                c->len -= (size_t) (nl + 1 - c->buf);
                memmove(c->buf, nl + 1, c->len);
        }
        if (c->len == sizeof(c->buf) - 1) { /* a line too long to be a command */
                reply(fd, false, "line too long");
                c->len = 0;
        }
        return 0;
}

static int on_control_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct server *srv = userdata;
        struct control_client *c;
        int client = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

        if (client < 0)
                return 0;
        c = calloc(1, sizeof(*c));
        if (!c || sd_event_add_io(srv->event, &c->source, client, EPOLLIN, on_control_client, c) < 0) {
                free(c);
                close(client);
                return 0;
        }
        c->server = srv;
        return 0;
}

static int listen_control(struct server *srv, const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        (void) unlink(path);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return sd_event_add_io(srv->event, NULL, fd, EPOLLIN, on_control_accept, srv);
}

static int parse_host_port(char *arg, const char **ret_host, int *ret_port)
{
        char *colon = strrchr(arg, ':');
        unsigned long long port = DEFAULT_PORT;

        if (colon) {
                *colon = '\0';
                if (parse_unsigned(colon + 1, &port) < 0 || port == 0 || port > 65535)
                        return -EINVAL;
        }
        *ret_host = *arg ? arg : DEFAULT_HOST;
        *ret_port = (int) port;
        return 0;
}

static void usage(FILE *f)
{
        fputs("Usage: chair-sim [--tcp HOST[:PORT] | --rtu DEVICE] [OPTIONS]\n"
              "The virtual chair: a Modbus slave implementing the reference board, described in\n" DOC_DIR
              "/reference-board.md.\n\n"
              "  --tcp HOST[:PORT]     listen for Modbus TCP (default 127.0.0.1:15020)\n"
              "  --rtu DEVICE          serve Modbus RTU on a serial device or pty\n"
              "  --baud N              RTU baud rate (default 115200)\n"
              "  --parity N|E|O        RTU parity (default N; 8 data bits, 1 stop bit)\n"
              "  --control SOCKET      the control socket (state, fault, estop, comm, changed, stick, "
              "refuse, clear)\n"
              "  --time-scale N        run the physics N times faster, 0.1 to 1000 (default 1)\n"
              "  --shoulder MM         where the simulated body's shoulders are (default 170)\n"
              "  --seed N              seed of the RTU noise (default 1)\n"
              "  --gpio-sim LABEL      also wire the motors to the lines of the gpio-sim chip LABEL\n"
              "  -h, --help            show this help\n",
              f);
}

int main(int argc, char **argv)
{
        enum {
                ARG_TCP = 0x100,
                ARG_RTU,
                ARG_BAUD,
                ARG_PARITY,
                ARG_CONTROL,
                ARG_TIME_SCALE,
                ARG_SHOULDER,
                ARG_SEED,
                ARG_GPIO_SIM,
        };
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {"tcp", required_argument, NULL, ARG_TCP},
                {"rtu", required_argument, NULL, ARG_RTU},
                {"baud", required_argument, NULL, ARG_BAUD},
                {"parity", required_argument, NULL, ARG_PARITY},
                {"control", required_argument, NULL, ARG_CONTROL},
                {"time-scale", required_argument, NULL, ARG_TIME_SCALE},
                {"shoulder", required_argument, NULL, ARG_SHOULDER},
                {"seed", required_argument, NULL, ARG_SEED},
                {"gpio-sim", required_argument, NULL, ARG_GPIO_SIM},
                {},
        };
        struct server srv = {.rng = 1};
        const char *host = DEFAULT_HOST, *rtu_device = NULL, *gpio_label = NULL;
        int port = DEFAULT_PORT, baud = 115200;
        char parity = 'N';
        double time_scale = 1.0, shoulder_mm = 170.0;
        unsigned long long u;
        int c, r, fd;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        usage(stdout);
                        return 0;
                case ARG_TCP:
                        if (parse_host_port(optarg, &host, &port) < 0) {
                                fprintf(stderr, "chair-sim: --tcp takes HOST[:PORT], not '%s'\n", optarg);
                                return 2;
                        }
                        break;
                case ARG_RTU:
                        rtu_device = optarg;
                        break;
                case ARG_BAUD:
                        if (parse_unsigned(optarg, &u) < 0 || u < 1200 || u > 4000000) {
                                fprintf(stderr, "chair-sim: --baud takes a rate from 1200 to 4000000\n");
                                return 2;
                        }
                        baud = (int) u;
                        break;
                case ARG_PARITY:
                        if (strlen(optarg) != 1 || !strchr("NEO", optarg[0])) {
                                fprintf(stderr, "chair-sim: --parity takes N, E or O\n");
                                return 2;
                        }
                        parity = optarg[0];
                        break;
                case ARG_CONTROL:
                        srv.control_path = optarg;
                        break;
                case ARG_TIME_SCALE:
                        if (parse_number(optarg, &time_scale) < 0 || time_scale < 0.1 || time_scale > 1000) {
                                fprintf(stderr, "chair-sim: --time-scale takes a factor from 0.1 to 1000\n");
                                return 2;
                        }
                        break;
                case ARG_SHOULDER:
                        if (parse_number(optarg, &shoulder_mm) < 0 || shoulder_mm < 0 ||
                            shoulder_mm > 1150) {
                                fprintf(stderr, "chair-sim: --shoulder takes millimetres from 0 to 1150\n");
                                return 2;
                        }
                        break;
                case ARG_SEED:
                        if (parse_unsigned(optarg, &u) < 0 || u == 0) {
                                fprintf(stderr, "chair-sim: --seed takes a positive number\n");
                                return 2;
                        }
                        srv.rng = u;
                        break;
                case ARG_GPIO_SIM:
                        gpio_label = optarg;
                        break;
                default:
                        usage(stderr);
                        return 2;
                }
        if (optind < argc) {
                usage(stderr);
                return 2;
        }

        sim_init(&srv.sim, time_scale, shoulder_mm);
        srv.mapping = (modbus_mapping_t){
                .nb_bits = _BOARD_COIL_MAX,
                .nb_input_bits = _BOARD_DI_MAX,
                .nb_registers = _BOARD_HR_MAX,
                .nb_input_registers = _BOARD_IR_MAX,
                .tab_bits = srv.sim.coils,
                .tab_input_bits = srv.sim.discretes,
                .tab_registers = srv.sim.holding,
                .tab_input_registers = srv.sim.inputs,
        };

        r = sd_event_default(&srv.event);
        if (r < 0) {
                fprintf(stderr, "chair-sim: failed to set up the event loop: %s\n", strerror(-r));
                return 1;
        }
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        sd_event_add_signal(srv.event, NULL, SIGTERM, NULL, NULL);
        sd_event_add_signal(srv.event, NULL, SIGINT, NULL, NULL);

        if (rtu_device) {
                srv.rtu = true;
                srv.modbus = modbus_new_rtu(rtu_device, baud, parity, 8, 1);
                if (!srv.modbus || modbus_set_slave(srv.modbus, BOARD_UNIT_ID) < 0 ||
                    modbus_connect(srv.modbus) < 0) {
                        fprintf(stderr, "chair-sim: failed to open %s: %s\n", rtu_device,
                                modbus_strerror(errno));
                        return 1;
                }
                fd = modbus_get_socket(srv.modbus);
                r = sd_event_add_io(srv.event, NULL, fd, EPOLLIN, on_modbus_client, &srv);
        } else {
                srv.modbus = modbus_new_tcp(host, port);
                if (!srv.modbus || (fd = modbus_tcp_listen(srv.modbus, 8)) < 0) {
                        fprintf(stderr, "chair-sim: failed to listen on %s:%d: %s\n", host, port,
                                modbus_strerror(errno));
                        return 1;
                }
                r = sd_event_add_io(srv.event, NULL, fd, EPOLLIN, on_modbus_accept, &srv);
        }
        if (r < 0) {
                fprintf(stderr, "chair-sim: failed to watch the Modbus socket: %s\n", strerror(-r));
                return 1;
        }
        if (srv.control_path && (r = listen_control(&srv, srv.control_path)) < 0) {
                fprintf(stderr, "chair-sim: failed to listen on %s: %s\n", srv.control_path, strerror(-r));
                return 1;
        }
        if (gpio_label) {
                r = gpio_side_open(gpio_label, &srv.sim, &srv.gpio);
                if (r < 0)
                        return 1;
                r = sd_event_add_time(srv.event, &srv.edge, CLOCK_MONOTONIC, USEC_INFINITY, 1, on_edge,
                                      &srv);
                if (r < 0) {
                        fprintf(stderr, "chair-sim: failed to set up the hall edges: %s\n", strerror(-r));
                        return 1;
                }
        }
        srv.last_step_usec = now_usec();
        advance(&srv); /* the limit switch lines as the chair stands, before chaird reads them */
        sd_event_source *tick = NULL;
        /* Accurate to a millisecond: the default quarter of a second would sample the relays too
         * coarsely. */
        r = sd_event_add_time(srv.event, &tick, CLOCK_MONOTONIC, srv.last_step_usec + TICK_USEC,
                              USEC_PER_MSEC, on_tick, &srv);
        if (r >= 0) /* a periodic tick: on_tick moves the deadline on each time */
                r = sd_event_source_set_enabled(tick, SD_EVENT_ON);
        if (r < 0) {
                fprintf(stderr, "chair-sim: failed to start the physics: %s\n", strerror(-r));
                return 1;
        }

        if (srv.rtu)
                fprintf(stderr, "chair-sim: serving Modbus RTU on %s (%d %c 8 1), unit %d\n", rtu_device,
                        baud, parity, BOARD_UNIT_ID);
        else
                fprintf(stderr, "chair-sim: serving Modbus TCP on %s:%d, unit %d\n", host, port,
                        BOARD_UNIT_ID);
        (void) sd_notify(0, "READY=1");
        r = sd_event_loop(srv.event);

        if (srv.control_path)
                (void) unlink(srv.control_path);
        modbus_close(srv.modbus);
        modbus_free(srv.modbus);
        sd_event_source_unref(srv.edge);
        gpio_side_close(srv.gpio);
        sd_event_unref(srv.event);
        return r < 0 ? 1 : 0;
}
