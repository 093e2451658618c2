/* wiring.c: parses the buses and the I/O references that tie the chair's parts to them. */
#include <errno.h>
#include <stdio.h>

#include "config.h"
#include "wiring.h"

DEFINE_STRING_TABLE(bus_type, enum bus_type, _BUS_TYPE_MAX, "modbus-tcp", "modbus-rtu", "gpio")
DEFINE_STRING_TABLE(parity, enum parity, _PARITY_MAX, "none", "even", "odd")
DEFINE_STRING_TABLE(rts_mode, enum rts_mode, _RTS_MODE_MAX, "none", "up", "down")
DEFINE_STRING_TABLE(io_table, enum io_table, _IO_TABLE_MAX, "coil", "discrete", "input", "holding", "line")
DEFINE_STRING_TABLE(gpio_bias, enum gpio_bias, _GPIO_BIAS_MAX, "as-is", "disabled", "pull-up", "pull-down")
DEFINE_STRING_TABLE(gpio_drive, enum gpio_drive, _GPIO_DRIVE_MAX, "push-pull", "open-drain", "open-source")

static struct config_parser *parser(struct parse_ctx *ctx)
{
        return ctx->userdata;
}

/* Bus defaults (documented in docs/config.md). */
#define MODBUS_TIMEOUT_DEFAULT_USEC    (100 * USEC_PER_MSEC)
#define MODBUS_RETRIES_DEFAULT         2
#define MODBUS_POLL_DEFAULT_USEC       (100 * USEC_PER_MSEC)
#define MODBUS_TCP_PORT_DEFAULT        502
#define HEARTBEAT_TIMEOUT_DEFAULT_USEC (500 * USEC_PER_MSEC) /* the reference board's default */

const struct field bus_fields[] = {
        {"type", field_enum, offsetof(struct bus_config, type), FIELD_REQUIRED, .names = bus_type_names,
         .what = "bus type"},
        {"unit", field_uint, offsetof(struct bus_config, unit), 0, 0, 247},
        {"timeout", field_duration, offsetof(struct bus_config, timeout_usec), 0, (long long) USEC_PER_MSEC,
         (long long) (10 * USEC_PER_SEC)},
        {"retries", field_uint, offsetof(struct bus_config, retries), 0, 0, 10},
        {"poll", field_duration, offsetof(struct bus_config, poll_usec), 0, (long long) (10 * USEC_PER_MSEC),
         (long long) (60 * USEC_PER_SEC)},
        {"heartbeat", field_uint, offsetof(struct bus_config, heartbeat), 0, 0, 65535},
        {"heartbeat-timeout", field_duration, offsetof(struct bus_config, heartbeat_timeout_usec), 0,
         (long long) (100 * USEC_PER_MSEC), (long long) (10 * USEC_PER_SEC)},
        {"heartbeat-timeout-register", field_uint, offsetof(struct bus_config, heartbeat_timeout_register),
         0, 0, 65535},
        {"host", field_string, offsetof(struct bus_config, host)},
        {"port", field_uint, offsetof(struct bus_config, port), 0, 1, 65535},
        {"device", field_string, offsetof(struct bus_config, device)},
        {"baud", field_uint, offsetof(struct bus_config, baud), 0, 1200, 4000000},
        {"parity", field_enum, offsetof(struct bus_config, parity), .names = parity_names},
        {"data-bits", field_uint, offsetof(struct bus_config, data_bits), 0, 7, 8},
        {"stop-bits", field_uint, offsetof(struct bus_config, stop_bits), 0, 1, 2},
        {"rs485", field_bool, offsetof(struct bus_config, rs485)},
        {"rts", field_enum, offsetof(struct bus_config, rts), .names = rts_mode_names, .what = "rts mode"},
        {"rts-delay", field_duration, offsetof(struct bus_config, rts_delay_usec), 0, 1,
         (long long) (100 * USEC_PER_MSEC)},
        {"chip", field_string, offsetof(struct bus_config, chip)},
        {},
};
enum {
        BF_TYPE,
        BF_UNIT,
        BF_TIMEOUT,
        BF_RETRIES,
        BF_POLL,
        BF_HEARTBEAT,
        BF_HEARTBEAT_TIMEOUT,
        BF_HEARTBEAT_REGISTER,
        BF_HOST,
        BF_PORT,
        BF_DEVICE,
        BF_BAUD,
        BF_PARITY,
        BF_DATA_BITS,
        BF_STOP_BITS,
        BF_RS485,
        BF_RTS,
        BF_RTS_DELAY,
        BF_CHIP
};

/* Which keys each bus type takes, as bits of bus_fields. */
#define BIT(f) (UINT64_C(1) << (f))
#define MODBUS_KEYS                                                                                         \
        (BIT(BF_TYPE) | BIT(BF_UNIT) | BIT(BF_TIMEOUT) | BIT(BF_RETRIES) | BIT(BF_POLL) |                   \
         BIT(BF_HEARTBEAT) | BIT(BF_HEARTBEAT_TIMEOUT) | BIT(BF_HEARTBEAT_REGISTER))
static const uint64_t bus_keys[_BUS_TYPE_MAX] = {
        [BUS_MODBUS_TCP] = MODBUS_KEYS | BIT(BF_HOST) | BIT(BF_PORT),
        [BUS_MODBUS_RTU] = MODBUS_KEYS | BIT(BF_DEVICE) | BIT(BF_BAUD) | BIT(BF_PARITY) | BIT(BF_DATA_BITS) |
                           BIT(BF_STOP_BITS) | BIT(BF_RS485) | BIT(BF_RTS) | BIT(BF_RTS_DELAY),
        [BUS_GPIO] = BIT(BF_TYPE) | BIT(BF_CHIP),
};
static const uint64_t bus_required[_BUS_TYPE_MAX] = {
        [BUS_MODBUS_TCP] = BIT(BF_HOST),
        [BUS_MODBUS_RTU] = BIT(BF_DEVICE),
        [BUS_GPIO] = BIT(BF_CHIP),
};

static int parse_bus(struct parse_ctx *ctx, const struct ynode *key, const struct ynode *value,
                     struct bus_config *b)
{
        uint64_t seen = 0;
        bool bad = false;
        int r;

        *b = (struct bus_config){
                .unit = 1,
                .timeout_usec = MODBUS_TIMEOUT_DEFAULT_USEC,
                .retries = MODBUS_RETRIES_DEFAULT,
                .poll_usec = MODBUS_POLL_DEFAULT_USEC,
                .heartbeat = -1,
                .heartbeat_timeout_usec = HEARTBEAT_TIMEOUT_DEFAULT_USEC,
                .heartbeat_timeout_register = -1,
                .port = MODBUS_TCP_PORT_DEFAULT,
                .baud = 115200,
                .data_bits = 8,
                .stop_bits = 1,
                .mark = ynode_mark(key),
        };
        b->name = strdup(key->value);
        if (!b->name)
                return -ENOMEM;

        r = parse_mapping(ctx, value, "bus", bus_fields, b, &seen);
        if (r < 0)
                return r;
        /* field_uint wrote the heartbeat addresses into the ints as unsigneds; 0 to 65535 fits. */
        for (int i = 0; bus_fields[i].key; i++) {
                if ((seen & BIT(i)) && !(bus_keys[b->type] & BIT(i))) {
                        parse_error(ctx, ynode_lookup_key(value, bus_fields[i].key),
                                    "%s is not a setting of a %s bus", bus_fields[i].key,
                                    bus_type_to_string(b->type));
                        bad = true;
                }
                if (!(seen & BIT(i)) && (bus_required[b->type] & BIT(i))) {
                        parse_error(ctx, value, "a %s bus needs %s", bus_type_to_string(b->type),
                                    bus_fields[i].key);
                        bad = true;
                }
        }
        for (int f = BF_HEARTBEAT_TIMEOUT; f <= BF_HEARTBEAT_REGISTER; f++)
                if ((seen & BIT(f)) && !(seen & BIT(BF_HEARTBEAT))) {
                        parse_error(ctx, ynode_lookup_key(value, bus_fields[f].key),
                                    "%s needs heartbeat (the register "
                                    "written every control tick)",
                                    bus_fields[f].key);
                        bad = true;
                }
        if ((seen & BIT(BF_HEARTBEAT_REGISTER)) && (seen & BIT(BF_HEARTBEAT)) &&
            b->heartbeat_timeout_register == b->heartbeat) {
                parse_error(ctx, ynode_lookup_key(value, "heartbeat-timeout-register"),
                            "heartbeat-timeout-register is the heartbeat register itself");
                bad = true;
        }
        if (b->rts != RTS_NONE && !b->rs485) {
                parse_error(ctx, ynode_lookup(value, "rts"), "rts only applies with rs485: true");
                bad = true;
        }
        return bad ? -EINVAL : 0;
}

int parse_buses(struct parse_ctx *ctx, const struct ynode *node)
{
        struct chair_config *c = parser(ctx)->config;
        bool bad = false;
        int r;

        if (!expect_type(ctx, node, YNODE_MAPPING, "buses"))
                return -EINVAL;
        if (ynode_n_pairs(node) == 0) {
                parse_error(ctx, node, "buses must name at least one bus");
                return -EINVAL;
        }
        c->buses = calloc(ynode_n_pairs(node), sizeof(*c->buses));
        if (!c->buses)
                return -ENOMEM;
        for (size_t i = 0; i < ynode_n_pairs(node); i++) {
                r = parse_bus(ctx, ynode_key(node, i), ynode_value(node, i), &c->buses[c->n_buses]);
                c->n_buses++; /* kept even when broken, so that references to it do not add errors */
                if (r == -ENOMEM)
                        return r;
                bad = bad || r < 0;
        }
        return bad ? -EINVAL : 0;
}

/* An I/O reference as written, before it is checked against its bus and role. */
struct io_spec {
        char *bus;
        unsigned address[_IO_TABLE_MAX];
        char *line;
        unsigned offset;
        double scale;
        bool is_signed;
        usec_t poll_usec;
        bool active_low;
        unsigned bias, drive;
        usec_t debounce_usec;
        usec_t pwm_period_usec;
        const struct ynode *feedback;
        usec_t feedback_delay_usec;
};

/* Keeps a value's node, to be parsed once what it depends on is known (a feedback line: its output's bus). */
static int field_node(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        *(const struct ynode **) dest = node;
        return 0;
}

const struct field io_fields[] = {
        {"bus", field_string, offsetof(struct io_spec, bus)},
        {"coil", field_uint, offsetof(struct io_spec, address[IO_COIL]), 0, 0, 65535},
        {"discrete", field_uint, offsetof(struct io_spec, address[IO_DISCRETE]), 0, 0, 65535},
        {"input", field_uint, offsetof(struct io_spec, address[IO_INPUT]), 0, 0, 65535},
        {"holding", field_uint, offsetof(struct io_spec, address[IO_HOLDING]), 0, 0, 65535},
        {"line", field_string, offsetof(struct io_spec, line)},
        {"offset", field_uint, offsetof(struct io_spec, offset), 0, 0, 1023},
        {"scale", field_number, offsetof(struct io_spec, scale), 0, -1000000, 1000000},
        {"signed", field_bool, offsetof(struct io_spec, is_signed)},
        {"poll", field_duration, offsetof(struct io_spec, poll_usec), 0, (long long) (10 * USEC_PER_MSEC),
         (long long) (60 * USEC_PER_SEC)},
        {"active-low", field_bool, offsetof(struct io_spec, active_low)},
        {"bias", field_enum, offsetof(struct io_spec, bias), .names = gpio_bias_names},
        {"drive", field_enum, offsetof(struct io_spec, drive), .names = gpio_drive_names},
        {"debounce", field_duration, offsetof(struct io_spec, debounce_usec), 0, 1,
         (long long) USEC_PER_SEC},
        {"pwm-period", field_duration, offsetof(struct io_spec, pwm_period_usec), 0,
         (long long) USEC_PER_SEC, (long long) (10 * USEC_PER_MINUTE)},
        {"feedback", field_node, offsetof(struct io_spec, feedback), .schema = "{\"$ref\":\"#/$defs/io\"}"},
        {"feedback-delay", field_duration, offsetof(struct io_spec, feedback_delay_usec), 0,
         (long long) USEC_PER_MSEC, (long long) (5 * USEC_PER_SEC)},
        {},
};
enum {
        IF_BUS,
        IF_COIL,
        IF_DISCRETE,
        IF_INPUT,
        IF_HOLDING,
        IF_LINE,
        IF_OFFSET,
        IF_SCALE,
        IF_SIGNED,
        IF_POLL,
        IF_ACTIVE_LOW,
        IF_BIAS,
        IF_DRIVE,
        IF_DEBOUNCE,
        IF_PWM,
        IF_FEEDBACK,
        IF_FEEDBACK_DELAY
};

#define WHERE_KEYS                                                                                          \
        (BIT(IF_COIL) | BIT(IF_DISCRETE) | BIT(IF_INPUT) | BIT(IF_HOLDING) | BIT(IF_LINE) | BIT(IF_OFFSET))
#define REGISTER_KEYS (BIT(IF_SCALE) | BIT(IF_SIGNED) | BIT(IF_POLL))
#define LINE_KEYS                                                                                           \
        (BIT(IF_ACTIVE_LOW) | BIT(IF_BIAS) | BIT(IF_DRIVE) | BIT(IF_DEBOUNCE) | BIT(IF_PWM) |               \
         BIT(IF_FEEDBACK) | BIT(IF_FEEDBACK_DELAY))
#define OUTPUT_LINE_KEYS (BIT(IF_DRIVE) | BIT(IF_PWM) | BIT(IF_FEEDBACK) | BIT(IF_FEEDBACK_DELAY))

/* Which tables each role may use, and why not, for the message. */
static const struct {
        unsigned tables; /* bits of enum io_table */
        const char *needs;
} role_tables[_IO_ROLE_MAX] = {
        [IO_OUT_SWITCH] = {1u << IO_COIL | 1u << IO_HOLDING | 1u << IO_LINE,
                           "an output switch: a coil, a holding register or a GPIO line"},
        [IO_OUT_VALUE] = {1u << IO_HOLDING, "an output value: a holding register"},
        [IO_IN_SWITCH] = {1u << IO_COIL | 1u << IO_DISCRETE | 1u << IO_INPUT | 1u << IO_HOLDING |
                                  1u << IO_LINE,
                          "an input switch: a discrete input, a register or a GPIO line"},
        [IO_IN_VALUE] = {1u << IO_INPUT | 1u << IO_HOLDING, "an input value: an input or holding register"},
        [IO_IN_COUNTER] =
                {1u << IO_INPUT | 1u << IO_HOLDING | 1u << IO_LINE,
                 "a pulse counter: an input or holding register with a running count, or a GPIO line "
                 "whose pulses chaird counts"},
};

/* The bus a reference without "bus:" means: the only bus of the right kind. */
static int default_bus(struct parse_ctx *ctx, const struct ynode *node, bool gpio, unsigned *ret)
{
        const struct chair_config *c = parser(ctx)->config;
        int found = -1;

        for (size_t i = 0; i < c->n_buses; i++)
                if ((c->buses[i].type == BUS_GPIO) == gpio) {
                        if (found >= 0) {
                                parse_error(ctx, node, "say which bus: this config has more than one %s bus",
                                            gpio ? "GPIO" : "Modbus");
                                return -EINVAL;
                        }
                        found = (int) i;
                }
        if (found < 0) {
                parse_error(ctx, node, "this config has no %s bus (see buses:)", gpio ? "GPIO" : "Modbus");
                return -EINVAL;
        }
        *ret = (unsigned) found;
        return 0;
}

static int find_bus(struct parse_ctx *ctx, const struct ynode *node, const char *name, unsigned *ret)
{
        const struct chair_config *c = parser(ctx)->config;
        _cleanup_free_ const char **names = calloc(c->n_buses + 1, sizeof(char *));

        if (!names)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_buses; i++) {
                if (streq(c->buses[i].name, name)) {
                        *ret = (unsigned) i;
                        return 0;
                }
                names[i] = c->buses[i].name;
        }
        return lookup_name(ctx, node, names, "bus", ret);
}

/* Parses the I/O reference at node, for key. on_bus: the bus it is on when it does not say (a feedback line:
 * its output's), or -1 for the only bus of its kind. */
static int parse_io(struct parse_ctx *ctx, const struct ynode *node, const char *key, enum io_role role,
                    int on_bus, int *dest)
{
        struct config_parser *p = parser(ctx);
        struct chair_config *c = p->config;
        struct io_spec spec = {.scale = 1.0, .feedback_delay_usec = GPIO_FEEDBACK_DELAY_DEFAULT_USEC};
        struct io_config io = {.role = role, .feedback = IO_NONE, .mark = ynode_mark(node)};
        uint64_t seen = 0, where;
        const struct bus_config *bus;
        int r;

        if (node->type == YNODE_SCALAR) {
                parse_error(ctx, node,
                            "%s must say where it is wired, e.g. {holding: 15} or {line: NAME}, not '%s'",
                            key, node->value);
                return -EINVAL;
        }
        r = parse_mapping(ctx, node, key, io_fields, &spec, &seen);
        if (r < 0)
                goto out;
        r = -EINVAL;
        where = seen & WHERE_KEYS;
        if (where == (BIT(IF_LINE) | BIT(IF_OFFSET))) {
                parse_error(ctx, node, "%s: give the GPIO line by name or by offset, not both", key);
                goto out;
        }
        if (where == 0 || (where & (where - 1))) { /* none, or more than one */
                parse_error(ctx, node,
                            "%s must say where it is wired: one of coil, discrete, input, holding "
                            "(Modbus) or line, offset (GPIO)",
                            key);
                goto out;
        }
        if (where & (BIT(IF_LINE) | BIT(IF_OFFSET))) {
                io.table = IO_LINE;
                io.address = spec.offset;
                io.line_name = TAKE_PTR(spec.line);
        } else
                for (int t = IO_COIL; t <= IO_HOLDING; t++)
                        if (where & BIT(IF_COIL + t)) {
                                io.table = (enum io_table) t;
                                io.address = spec.address[t];
                        }

        if (spec.bus)
                r = find_bus(ctx, ynode_lookup(node, "bus"), spec.bus, &io.bus);
        else if (on_bus >= 0) {
                io.bus = (unsigned) on_bus;
                r = 0;
        } else
                r = default_bus(ctx, node, io.table == IO_LINE, &io.bus);
        if (r < 0)
                goto out;
        r = -EINVAL;
        bus = &c->buses[io.bus];
        if ((bus->type == BUS_GPIO) != (io.table == IO_LINE)) {
                parse_error(ctx, node, "%s: bus '%s' is a %s bus; it has no %s", key, bus->name,
                            bus_type_to_string(bus->type),
                            io.table == IO_LINE ? "GPIO lines" : "Modbus registers");
                goto out;
        }
        if (!(role_tables[role].tables & (1u << io.table))) {
                parse_error(ctx, node, "%s must be %s, not a %s", key, role_tables[role].needs,
                            io.table == IO_LINE ? "GPIO line" : io_table_to_string(io.table));
                goto out;
        }
        for (int i = 0; io_fields[i].key; i++) {
                uint64_t b = BIT(i);
                const char *why = NULL;

                if (!(seen & b))
                        continue;
                if ((b & REGISTER_KEYS) && io.table == IO_LINE)
                        why = "a GPIO line";
                else if ((b & LINE_KEYS) && io.table != IO_LINE)
                        why = "a Modbus register";
                else if ((b & (BIT(IF_POLL) | BIT(IF_BIAS) | BIT(IF_DEBOUNCE))) && io_role_is_output(role))
                        why = "an output";
                else if ((b & OUTPUT_LINE_KEYS) && !io_role_is_output(role))
                        why = "an input";
                else if ((b & BIT(IF_PWM)) && role != IO_OUT_SWITCH)
                        why = "a value";
                else if ((b & (BIT(IF_SCALE) | BIT(IF_SIGNED))) && role == IO_IN_COUNTER)
                        why = "a pulse counter (a running count, wrapping at 65536)";
                if (why) {
                        parse_error(ctx, ynode_lookup_key(node, io_fields[i].key), "%s does not apply to %s",
                                    io_fields[i].key, why);
                        goto out;
                }
        }
        if ((seen & BIT(IF_FEEDBACK_DELAY)) && !spec.feedback) {
                parse_error(
                        ctx, ynode_lookup_key(node, "feedback-delay"),
                        "feedback-delay needs feedback (the line that reads back what the output switches)");
                goto out;
        }
        if (spec.feedback && spec.pwm_period_usec && spec.feedback_delay_usec >= GPIO_PWM_MIN_PULSE_USEC) {
                parse_error(ctx, ynode_lookup(node, "feedback-delay") ?: ynode_lookup(node, "feedback"),
                            "a PWM output's feedback-delay must be shorter than its shortest pulse (200ms), "
                            "or a stuck relay would never be caught");
                goto out;
        }
        if (spec.scale == 0.0) {
                parse_error(ctx, ynode_lookup(node, "scale"), "scale must not be 0");
                goto out;
        }
        io.scale = spec.scale;
        io.is_signed = spec.is_signed;
        io.poll_usec = spec.poll_usec;
        io.active_low = spec.active_low;
        io.bias = (enum gpio_bias) spec.bias;
        io.drive = (enum gpio_drive) spec.drive;
        io.debounce_usec = spec.debounce_usec;
        io.pwm_period_usec = spec.pwm_period_usec;
        io.feedback_delay_usec = spec.feedback ? spec.feedback_delay_usec : 0;

        r = -ENOMEM;
        if (asprintf(&io.name, "%s%s%s", p->section, p->section[0] ? "." : "", key) < 0) {
                io.name = NULL;
                goto out;
        }
        if (spec.feedback) {
                /* An input line on the output's own chip: the driver that sets one reads the other. */
                r = parse_io(ctx, spec.feedback, "feedback", IO_IN_SWITCH, (int) io.bus, &io.feedback);
                if (r < 0)
                        goto out;
                r = -EINVAL;
                if (c->ios[io.feedback].bus != io.bus) {
                        parse_error(ctx, spec.feedback,
                                    "feedback must be a line on the output's own bus ('%s')",
                                    c->buses[io.bus].name);
                        goto out;
                }
                if (c->ios[io.feedback].debounce_usec >= io.feedback_delay_usec) {
                        parse_error(
                                ctx, ynode_lookup(spec.feedback, "debounce") ?: spec.feedback,
                                "the feedback line's debounce must be shorter than feedback-delay, or every "
                                "switch of a sound relay would read as stuck");
                        goto out;
                }
                r = -ENOMEM;
                free(c->ios[io.feedback].name);
                if (asprintf(&c->ios[io.feedback].name, "%s.feedback", io.name) < 0) {
                        c->ios[io.feedback].name = NULL;
                        goto out;
                }
        }
        if (grow_array(&c->ios, &c->cap_ios, c->n_ios + 1, sizeof(*c->ios)) < 0)
                goto out;
        *dest = (int) c->n_ios;
        c->ios[c->n_ios++] = io;
        io = (struct io_config){};
        r = 0;
out:
        free(spec.bus);
        free(spec.line);
        io_config_done(&io);
        return r;
}

int field_out_switch(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        return parse_io(ctx, node, f->key, IO_OUT_SWITCH, -1, dest);
}

int field_out_value(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        return parse_io(ctx, node, f->key, IO_OUT_VALUE, -1, dest);
}

int field_out_level(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        bool relay =
                node->type == YNODE_MAPPING &&
                (ynode_lookup(node, "coil") || ynode_lookup(node, "line") || ynode_lookup(node, "offset"));
        return parse_io(ctx, node, f->key, relay ? IO_OUT_SWITCH : IO_OUT_VALUE, -1, dest);
}

int field_out_target(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        int r = parse_io(ctx, node, f->key, IO_OUT_VALUE, -1, dest);
        if (r == 0)
                parser(ctx)->config->ios[*(int *) dest].no_safe_value = true;
        return r;
}

int field_in_switch(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        return parse_io(ctx, node, f->key, IO_IN_SWITCH, -1, dest);
}

int field_in_value(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        return parse_io(ctx, node, f->key, IO_IN_VALUE, -1, dest);
}

int field_in_counter(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        return parse_io(ctx, node, f->key, IO_IN_COUNTER, -1, dest);
}

static bool same_place(const struct io_config *a, const struct io_config *b)
{
        if (a->bus != b->bus || a->table != b->table)
                return false;
        if (a->table == IO_LINE)
                return a->line_name || b->line_name ? streq_ptr(a->line_name, b->line_name)
                                                    : a->address == b->address;
        /* Coils and holding registers are one place whether read or written; the input tables only read. */
        return a->address == b->address;
}

static const char *place(char *buf, size_t size, const struct chair_config *c, const struct io_config *io)
{
        if (io->table == IO_LINE && io->line_name)
                snprintf(buf, size, "GPIO line '%s' on bus '%s'", io->line_name, c->buses[io->bus].name);
        else if (io->table == IO_LINE)
                snprintf(buf, size, "GPIO line %u on bus '%s'", io->address, c->buses[io->bus].name);
        else
                snprintf(buf, size, "%s %u on bus '%s'", io_table_to_string(io->table), io->address,
                         c->buses[io->bus].name);
        return buf;
}

void check_io_conflicts(struct parse_ctx *ctx, const struct chair_config *c)
{
        char buf[128];

        for (size_t i = 0; i < c->n_ios; i++) {
                const struct io_config *a = &c->ios[i];
                const struct bus_config *bus = &c->buses[a->bus];

                if (io_role_is_output(a->role) && a->table == IO_HOLDING && bus->heartbeat >= 0 &&
                    a->address == (unsigned) bus->heartbeat)
                        parse_error_at(ctx, a->mark, "%s is the bus's heartbeat register",
                                       place(buf, sizeof(buf), c, a));
                if (io_role_is_output(a->role) && a->table == IO_HOLDING &&
                    bus->heartbeat_timeout_register >= 0 &&
                    a->address == (unsigned) bus->heartbeat_timeout_register)
                        parse_error_at(ctx, a->mark, "%s is the bus's heartbeat-timeout-register",
                                       place(buf, sizeof(buf), c, a));
                for (size_t j = 0; j < i; j++) {
                        const struct io_config *b = &c->ios[j];
                        /* Outputs need a place of their own; a GPIO line can be requested only once at
                         * all. */
                        if (!same_place(a, b) || !(a->table == IO_LINE || io_role_is_output(a->role) ||
                                                   io_role_is_output(b->role)))
                                continue;
                        parse_error_at(ctx, a->mark, "%s is already used by %s (line %u)",
                                       place(buf, sizeof(buf), c, a), b->name, b->mark.line);
                        break;
                }
        }
}

void bus_config_done(struct bus_config *b)
{
        free(b->name);
        free(b->host);
        free(b->device);
        free(b->chip);
}

void io_config_done(struct io_config *io)
{
        free(io->name);
        free(io->line_name);
}

bool wiring_field(field_parse_t parse)
{
        return parse == field_out_switch || parse == field_out_value || parse == field_out_level ||
               parse == field_out_target || parse == field_in_switch || parse == field_in_value ||
               parse == field_in_counter;
}
