/* wiring.h: buses and I/O references: how each actuator and input of the chair reaches the hardware. */
#pragma once

#include "schema.h"
#include "util.h"
#include "vocab.h"

enum bus_type {
        BUS_MODBUS_TCP,
        BUS_MODBUS_RTU,
        BUS_GPIO,
        _BUS_TYPE_MAX,
};
DECLARE_STRING_TABLE(bus_type, enum bus_type);

enum parity {
        PARITY_NONE,
        PARITY_EVEN,
        PARITY_ODD,
        _PARITY_MAX,
};
DECLARE_STRING_TABLE(parity, enum parity);

/* RS-485 direction control by the RTS line: none (the adapter switches by itself), RTS high while sending
 * ("up") or low while sending ("down"). */
enum rts_mode {
        RTS_NONE,
        RTS_UP,
        RTS_DOWN,
        _RTS_MODE_MAX,
};
DECLARE_STRING_TABLE(rts_mode, enum rts_mode);

struct bus_config {
        char *name;
        enum bus_type type;
        struct mark mark;

        /* Modbus (TCP and RTU) */
        unsigned unit;                  /* slave id */
        usec_t timeout_usec;            /* response timeout of one transaction */
        unsigned retries;               /* further attempts of a failed transaction */
        usec_t poll_usec;               /* how often inputs are read, unless an input says otherwise */
        int heartbeat;                  /* holding register written every control tick; -1: none */
        usec_t heartbeat_timeout_usec;  /* the board stops by itself when the heartbeat is older than this */
        int heartbeat_timeout_register; /* holding register chaird writes that timeout to (ms); -1: none */
        char *host;                     /* TCP */
        unsigned port;
        char *device; /* RTU */
        unsigned baud, data_bits, stop_bits;
        enum parity parity;
        bool rs485;
        enum rts_mode rts;
        usec_t rts_delay_usec;

        /* GPIO */
        char *chip; /* a chip's name ("gpiochip0"), path or label ("pinctrl-bcm2711") */
};

/* Where a value lives: a Modbus table or a GPIO line. */
enum io_table {
        IO_COIL,
        IO_DISCRETE,
        IO_INPUT,
        IO_HOLDING,
        IO_LINE,
        _IO_TABLE_MAX,
};
DECLARE_STRING_TABLE(io_table, enum io_table);

/* What the daemon does with it: writes or reads, an on/off switch or a number. */
enum io_role {
        IO_OUT_SWITCH,
        IO_OUT_VALUE,
        IO_IN_SWITCH,
        IO_IN_VALUE,
        IO_IN_COUNTER, /* a running count of pulses, wrapping at 16 bits: a register, or a line's counted
                          edges */
        _IO_ROLE_MAX,
};

static inline bool io_role_is_output(enum io_role r)
{
        return r == IO_OUT_SWITCH || r == IO_OUT_VALUE;
}

enum gpio_bias {
        GPIO_BIAS_AS_IS,
        GPIO_BIAS_DISABLED,
        GPIO_BIAS_PULL_UP,
        GPIO_BIAS_PULL_DOWN,
        _GPIO_BIAS_MAX,
};
DECLARE_STRING_TABLE(gpio_bias, enum gpio_bias);

enum gpio_drive {
        GPIO_DRIVE_PUSH_PULL,
        GPIO_DRIVE_OPEN_DRAIN,
        GPIO_DRIVE_OPEN_SOURCE,
        _GPIO_DRIVE_MAX,
};
DECLARE_STRING_TABLE(gpio_drive, enum gpio_drive);

/* One wired value. Its index in chair_config.ios is how the rest of chaird refers to it. */
struct io_config {
        char *name;   /* what it is, e.g. "recline.backrest.target", for messages and logs */
        unsigned bus; /* index into chair_config.buses */
        enum io_role role;
        enum io_table table;
        unsigned address; /* register address, or GPIO line offset when line_name is NULL */
        char *line_name;  /* GPIO: the line's name; its offset is looked up on the chip */
        double scale;     /* registers: value = raw * scale */
        bool is_signed;   /* registers: raw is a two's-complement 16-bit number */
        usec_t poll_usec; /* Modbus inputs: 0 means the bus's poll period */
        bool active_low;  /* GPIO */
        enum gpio_bias bias;
        enum gpio_drive drive;
        usec_t debounce_usec;
        usec_t pwm_period_usec; /* GPIO switch outputs: slow PWM with this period; 0: plain on/off */
        /* GPIO switch outputs: the input line wired back from what the output switches (a relay's
         * monitoring contact), IO_NONE when none; and how long it may read otherwise than the output was
         * set before that is output-mismatch (docs/safety.md). */
        int feedback;
        usec_t feedback_delay_usec;
        bool no_safe_value; /* outputs left alone in the safe state (motor targets: run is what stops) */
        struct mark mark;
};

/* An index into chair_config.ios; IO_NONE when not wired. */
#define IO_NONE (-1)

/* The shortest on or off time of a GPIO line's slow PWM: duties that would need less are rounded to 0 or 1,
 * since a relay cannot switch that fast without wear. A feedback line must follow within less. */
#define GPIO_PWM_MIN_PULSE_USEC (200 * USEC_PER_MSEC)
/* A feedback line's default feedback-delay: a small relay's switching time with margin. */
#define GPIO_FEEDBACK_DELAY_DEFAULT_USEC (50 * USEC_PER_MSEC)

struct chair_config;

/* The parse state of a config file: the config being built and the name of the section being parsed,
 * which prefixes the names of the I/O references in it. */
struct config_parser {
        struct chair_config *config;
        char section[64];
};

/* Parses the buses: mapping (run before any I/O reference, which names a bus). */
int parse_buses(struct parse_ctx *ctx, const struct ynode *node);

/* Field parsers for I/O references [int, an index into chair_config.ios]. */
int field_out_switch(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest);
int field_out_value(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest);
/* A speed or level: a value in a holding register, or a switch (a coil, a GPIO line: a relay) that any level
 * above 0 switches on. */
int field_out_level(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest);
/* An output value with no safe value of its own: a motor's target. */
int field_out_target(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest);
int field_in_switch(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest);
int field_in_value(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest);
int field_in_counter(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest);

/* Errors for two outputs on one register or line, a GPIO line used twice, and an output on a bus's
 * heartbeat register or heartbeat-timeout register. */
void check_io_conflicts(struct parse_ctx *ctx, const struct chair_config *c);

void bus_config_done(struct bus_config *b);
void io_config_done(struct io_config *io);

/* The tables a bus and an I/O reference are parsed through, for the JSON Schema. */
extern const struct field bus_fields[], io_fields[];

/* Whether a field parser is one of the I/O references' above (their JSON Schema is the io definition). */
bool wiring_field(field_parse_t parse);
