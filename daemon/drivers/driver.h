/* driver.h: the small ops table behind which every bus driver sits, and the events drivers report. */
#pragma once

#include <errno.h>
#include <systemd/sd-event.h>

#include "config.h"

struct driver;

enum driver_event_type {
        DRIVER_INPUT_CHANGED, /* io has a new value (the first reading counts as new) */
        DRIVER_COMM_LOST,     /* a transaction failed after its retries; error says why */
        DRIVER_COMM_RESTORED, /* the bus answers again */
        DRIVER_REFUSED,       /* the device refused a request on io (a Modbus exception); error says why */
        /* The heartbeat went out later than the board's timeout (value: the gap in ms) while the chair was
         * active: the board has put every output safe by itself. The driver writes nothing that would start
         * an output again until safe_state() is called after this event. */
        DRIVER_BOARD_STOPPED,
        /* The inputs asked for by refresh() have been read: their changes were reported before this (error:
         * 0, or why the bus could not be read). */
        DRIVER_REFRESHED,
        /* Output read-back: io's device holds value, not what was written to it, and did so when read
         * after the write and again when read a poll period later (Modbus), or its feedback line has read
         * value, not what io was set to, for io's feedback-delay (GPIO) (docs/safety.md, output-mismatch).
         * Reported once, until DRIVER_OUTPUT_MATCHED. */
        DRIVER_OUTPUT_MISMATCH,
        /* io's device holds what was written to it again (value), after DRIVER_OUTPUT_MISMATCH. */
        DRIVER_OUTPUT_MATCHED,
};

struct driver_event {
        enum driver_event_type type;
        int io;       /* index into chair_config.ios, or IO_NONE */
        double value; /* DRIVER_INPUT_CHANGED: in the config's units (after scale) */
        int error;    /* a positive errno or libmodbus error number */
};

/* Called on the event loop, never from a driver's own thread. */
typedef void (*driver_handler_t)(struct driver *d, const struct driver_event *ev, void *userdata);

/* Counters for benchmarks and logs. */
struct driver_stats {
        uint64_t transactions; /* requests sent, retries included */
        uint64_t writes;       /* write requests that succeeded, heartbeats included */
        uint64_t heartbeats;   /* of those, heartbeat writes */
        uint64_t reads;        /* read requests that succeeded */
        uint64_t retries;
        uint64_t failures; /* transactions that failed after all retries */
};

struct driver_ops {
        const char *type;
        /* Sets an output's value; it goes out at the next flush. A switch takes 0 or 1 (a PWM line a duty
         * from 0 to 1); a value must fit its register after scale. -ERANGE otherwise, -EINVAL for an io that
         * is not an output of this bus. */
        int (*set)(struct driver *d, int io, double value);
        /* Writes what changed since the last flush, and the heartbeat, without blocking the loop. */
        int (*flush)(struct driver *d);
        /* The last value read from an input; -ENODATA before the first reading. */
        int (*get)(struct driver *d, int io, double *ret);
        /* Every output to its safe value. With a timeout, waits up to that long until it is written and
         * returns -ETIMEDOUT if it was not; with 0, returns at once (the driver writes it next). */
        int (*safe_state)(struct driver *d, usec_t timeout_usec);
        /* Waits up to timeout_usec until every value set before the last flush has been written: for
         * shutdown and benchmarks, never on a live loop. 0 or -ETIMEDOUT. */
        int (*sync)(struct driver *d, usec_t timeout_usec);
        void (*stats)(struct driver *d, struct driver_stats *ret);
        /* Whether inputs are read (the default). Off while the chair is idle, so that an idle bus costs no
         * wakeups; on again reads every input at once, and writes the heartbeat and then every output
         * again (a board watching its heartbeat put them safe by itself while the bus was quiet). Drivers
         * whose inputs wake the loop by themselves (GPIO edges) need not implement it. */
        void (*set_polling)(struct driver *d, bool on);
        /* Reads every input once more now, polling or not, without blocking the loop, and reports
         * DRIVER_REFRESHED when done; outputs that read back differently are read again too, and their
         * DRIVER_OUTPUT_MATCHED comes before it. Drivers without it (NULL) have nothing to read afresh. */
        int (*refresh)(struct driver *d);
        /* When an output's present value reached its device: 0 and the time (CLOCK_MONOTONIC: once a board
         * answered, once a line was set), -EINPROGRESS while it has not yet. NULL: a value is out when it
         * is set. */
        int (*written)(struct driver *d, int io, usec_t *ret_usec);
        /* When an input's present value was last read from its device (CLOCK_MONOTONIC, when the read was
         * sent): 0 and the time, -ENODATA before the first reading. An unchanged value is read again and
         * again without an event: this says the bus still reads it (a heater's element is on only while its
         * sensor's is recent, heater.h). NULL: the inputs are always current (GPIO lines, whose every edge
         * the kernel reports). */
        int (*read_at)(struct driver *d, int io, usec_t *ret_usec);
        void (*free)(struct driver *d);
};

struct driver {
        const struct driver_ops *ops;
        const struct chair_config *config; /* borrowed; must outlive the driver */
        unsigned bus;
        driver_handler_t handler;
        void *userdata;
};

/* Creates the driver for bus number bus of config, attached to event. It requests or connects its
 * hardware and starts reading inputs; every output starts at its safe value. Returns 0 or -errno. */
/* What an event's error means, for a log line: an errno, or a Modbus exception or libmodbus error (whose
 * numbers strerror() does not know). */
const char *driver_strerror(int error);

int driver_new(const struct chair_config *config, unsigned bus, sd_event *event, driver_handler_t handler,
               void *userdata, struct driver **ret);

static inline int driver_set(struct driver *d, int io, double value)
{
        return d->ops->set(d, io, value);
}
/* When io's present value reached its device: 0 and the time (0: when it was set), or -EINPROGRESS. */
static inline int driver_written(struct driver *d, int io, usec_t *ret_usec)
{
        if (!d->ops->written) {
                *ret_usec = 0;
                return 0;
        }
        return d->ops->written(d, io, ret_usec);
}
/* When input io's present value was last read from its device (now for a driver whose inputs are always
 * current), or -ENODATA. */
static inline int driver_read_at(struct driver *d, int io, usec_t *ret_usec)
{
        if (!d->ops->read_at) {
                *ret_usec = now_usec();
                return 0;
        }
        return d->ops->read_at(d, io, ret_usec);
}
static inline int driver_flush(struct driver *d)
{
        return d->ops->flush(d);
}
static inline int driver_get(struct driver *d, int io, double *ret)
{
        return d->ops->get(d, io, ret);
}
static inline int driver_safe_state(struct driver *d, usec_t timeout_usec)
{
        return d->ops->safe_state(d, timeout_usec);
}
static inline int driver_sync(struct driver *d, usec_t timeout_usec)
{
        return d->ops->sync(d, timeout_usec);
}
static inline void driver_stats(struct driver *d, struct driver_stats *ret)
{
        d->ops->stats(d, ret);
}
static inline void driver_set_polling(struct driver *d, bool on)
{
        if (d->ops->set_polling)
                d->ops->set_polling(d, on);
}
static inline int driver_refresh(struct driver *d)
{
        return d->ops->refresh ? d->ops->refresh(d) : -EOPNOTSUPP;
}
struct driver *driver_free(struct driver *d);
static inline void driver_freep(struct driver **d)
{
        driver_free(*d);
}

/* The value an output goes to in the safe state; false for outputs that have none (motor targets: a motor
 * is made safe by its run output). */
bool io_safe_value(const struct io_config *io, double *ret);

/* Backends. */
int modbus_driver_new(const struct chair_config *config, unsigned bus, sd_event *event, struct driver **ret);
int gpio_driver_new(const struct chair_config *config, unsigned bus, sd_event *event, struct driver **ret);

/* For benchmarks: a Modbus driver that writes each changed register in its own transaction. */
void modbus_driver_set_coalescing(struct driver *d, bool on);
