/* gpio.c: the GPIO driver (libgpiod >= 2.1): one line request per chip for every line the config wires
 * to it; outputs start at their safe value, inputs report edges through the request's fd on the loop, and
 * heater relays can run a slow PWM on loop timers. An output with a feedback line (a relay's monitoring
 * contact wired back to an input) is compared with it at each change of either: one that differs for
 * longer than its feedback-delay, on a loop timer, is DRIVER_OUTPUT_MISMATCH. */
#include <dirent.h>
#include <errno.h>
#include <gpiod.h>
#include <math.h>
#include <stdio.h>

#include "driver.h"
#include "gpio.h"

#define CONSUMER    "chaird"
#define EDGE_BUFFER 32

void gpio_line_setup(const struct io_config *io, struct gpio_line_setup *ret)
{
        bool output = io_role_is_output(io->role);

        *ret = (struct gpio_line_setup){
                .output = output,
                .active_low = io->active_low,
                .bias = output ? GPIO_BIAS_AS_IS : io->bias,
                .drive = output ? io->drive : GPIO_DRIVE_PUSH_PULL,
                .debounce_usec = output ? 0 : io->debounce_usec,
                .edges = !output,
                .initial_active = false, /* every output's safe value is inactive */
        };
}

bool gpio_pwm_step(double duty, usec_t period_usec, bool active_now, bool *ret_active, usec_t *ret_hold_usec)
{
        usec_t on = (usec_t) llround(fmin(fmax(duty, 0.0), 1.0) * (double) period_usec);

        if (on < GPIO_PWM_MIN_PULSE_USEC) {
                *ret_active = false;
                return false;
        }
        if (period_usec - on < GPIO_PWM_MIN_PULSE_USEC) {
                *ret_active = true;
                return false;
        }
        /* Alternate: after an on time comes an off time and the other way round. */
        *ret_active = !active_now;
        *ret_hold_usec = *ret_active ? on : period_usec - on;
        return true;
}

struct gpio_line {
        struct gpio_driver *driver;
        int io;
        unsigned offset;
        struct gpio_line_setup setup;
        double wanted; /* outputs: 0/1, or the duty of a PWM line */
        bool active;   /* what the line is set to, or was last read as */
        bool delivered;
        bool counter; /* a pulse counter: its value is the count of rising edges, wrapping at 16 bits */
        uint16_t count;
        usec_t set_usec; /* outputs: when the line was last set (0: at its request) */
        usec_t pwm_period_usec;
        sd_event_source *pwm;
        /* Outputs with a feedback line: that line, how long it may differ, the timer of a difference, and
         * whether DRIVER_OUTPUT_MISMATCH was the last news of it. Feedback lines: the output they read back
         * (they are not reported as inputs). */
        struct gpio_line *feedback, *output;
        usec_t feedback_delay_usec;
        sd_event_source *verify;
        bool mismatch;
};

struct gpio_driver {
        struct driver base;
        sd_event *event;
        struct gpiod_chip *chip;
        struct gpiod_line_request *request;
        struct gpiod_edge_event_buffer *edges;
        sd_event_source *fd_source, *read_all;
        struct gpio_line *lines;
        size_t n_lines;
        bool refresh; /* the loop asked for every input afresh */
        struct driver_stats stats;
};

static struct gpio_driver *to_gpio(struct driver *d)
{
        return (struct gpio_driver *) d;
}

static struct gpio_line *find_line(struct gpio_driver *g, int io)
{
        for (size_t i = 0; i < g->n_lines; i++)
                if (g->lines[i].io == io)
                        return &g->lines[i];
        return NULL;
}

static void report(struct gpio_driver *g, enum driver_event_type type, int io, double value, int error)
{
        struct driver_event ev = {type, io, value, error};

        if (g->base.handler)
                g->base.handler(&g->base, &ev, g->base.userdata);
}

/* An output's read-back news, on the loop: DRIVER_OUTPUT_MISMATCH once its feedback line still differs
 * when its timer fires (a feedback-delay after the difference began), DRIVER_OUTPUT_MATCHED once it agrees
 * again after that. */
static void verdict(struct gpio_driver *g, struct gpio_line *o)
{
        bool differs = o->feedback->delivered && o->feedback->active != o->active;

        if (differs == o->mismatch)
                return;
        o->mismatch = differs;
        report(g, differs ? DRIVER_OUTPUT_MISMATCH : DRIVER_OUTPUT_MATCHED, o->io,
               differs ? o->feedback->active : o->active, 0);
}

static int on_verify(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct gpio_line *o = userdata;

        verdict(o->driver, o);
        return 0;
}

/* Compares an output with its feedback line after either changed, and sets its timer: a new difference
 * (or one that changed sides: the output switched again before its feedback followed) gets the
 * feedback-delay from now, the relay's switching time from this change on; an agreement after a mismatch
 * is news at once. Nothing is reported from here: this runs inside flush and safe_state, whose callers
 * hear of it from the loop, as from any other driver. */
static void verify(struct gpio_driver *g, struct gpio_line *o)
{
        struct gpio_line *fb = o->feedback;
        bool differs;
        usec_t at;

        if (!fb || !fb->delivered)
                return; /* no reading yet: the first one compares */
        differs = fb->active != o->active;
        if (differs == o->mismatch) { /* as last reported: no news pending */
                sd_event_source_set_enabled(o->verify, SD_EVENT_OFF);
                return;
        }
        /* The timer exists since the driver was made: these calls cannot fail on it. */
        at = now_usec() + (differs ? o->feedback_delay_usec : 0);
        (void) sd_event_source_set_time(o->verify, at);
        (void) sd_event_source_set_enabled(o->verify, SD_EVENT_ONESHOT);
}

static int line_set(struct gpio_driver *g, struct gpio_line *l, bool active)
{
        if (gpiod_line_request_set_value(g->request, l->offset,
                                         active ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE) < 0)
                return -errno;
        l->active = active;
        l->set_usec = now_usec();
        g->stats.writes++;
        verify(g, l);
        return 0;
}

static int on_pwm(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct gpio_line *l = userdata;
        bool active;
        usec_t hold;

        if (!gpio_pwm_step(l->wanted, l->pwm_period_usec, l->active, &active, &hold)) {
                sd_event_source_set_enabled(s, SD_EVENT_OFF);
                return line_set(l->driver, l, active);
        }
        sd_event_source_set_time(s, usec + hold);
        sd_event_source_set_enabled(s, SD_EVENT_ON);
        return line_set(l->driver, l, active);
}

/* Applies an output's wanted value: at once for a plain line, through the PWM timer otherwise. */
static int line_apply(struct gpio_driver *g, struct gpio_line *l)
{
        bool active;
        usec_t hold;

        if (!l->pwm_period_usec)
                return l->active == (l->wanted != 0.0) ? 0 : line_set(g, l, l->wanted != 0.0);
        if (!gpio_pwm_step(l->wanted, l->pwm_period_usec, false, &active, &hold)) {
                if (l->pwm)
                        sd_event_source_set_enabled(l->pwm, SD_EVENT_OFF);
                return l->active == active ? 0 : line_set(g, l, active);
        }
        if (l->pwm && sd_event_source_get_enabled(l->pwm, NULL) > 0)
                return 0; /* already cycling: the new duty applies from the next edge on */
        if (!l->pwm) {
                int r = sd_event_add_time(g->event, &l->pwm, CLOCK_MONOTONIC, 0, 0, on_pwm, l);
                if (r < 0)
                        return r;
        }
        /* Start with an on time now. */
        sd_event_source_set_time(l->pwm, now_usec() + hold);
        sd_event_source_set_enabled(l->pwm, SD_EVENT_ON);
        return line_set(g, l, true);
}

static int gpio_set(struct driver *d, int io, double value)
{
        struct gpio_line *l = find_line(to_gpio(d), io);

        if (!l || !l->setup.output)
                return -EINVAL;
        /* A plain line is off or on; a PWM line takes a duty from 0 to 1. NaN fails both. */
        if (l->pwm_period_usec ? !(value >= 0.0 && value <= 1.0) : value != 0.0 && value != 1.0)
                return -ERANGE;
        l->wanted = value;
        return 0;
}

static int gpio_flush(struct driver *d)
{
        struct gpio_driver *g = to_gpio(d);
        int r = 0;

        for (size_t i = 0; i < g->n_lines; i++)
                if (g->lines[i].setup.output) {
                        int k = line_apply(g, &g->lines[i]);
                        if (k < 0 && r == 0)
                                r = k;
                }
        return r;
}

/* A plain line is set at the flush that follows its change: until then its new value is not out. */
static int gpio_written(struct driver *d, int io, usec_t *ret_usec)
{
        struct gpio_line *l = find_line(to_gpio(d), io);

        if (!l || !l->setup.output)
                return -EINVAL;
        if (!l->pwm_period_usec && l->active != (l->wanted != 0.0))
                return -EINPROGRESS;
        *ret_usec = l->set_usec;
        return 0;
}

static int gpio_get(struct driver *d, int io, double *ret)
{
        struct gpio_line *l = find_line(to_gpio(d), io);

        if (!l || l->setup.output)
                return -EINVAL;
        if (!l->delivered)
                return -ENODATA;
        *ret = l->active;
        return 0;
}

static int gpio_safe_state(struct driver *d, usec_t timeout_usec)
{
        struct gpio_driver *g = to_gpio(d);
        int r = 0;

        /* A line's ioctl does not block: the safe state is in place when this returns. */
        for (size_t i = 0; i < g->n_lines; i++) {
                struct gpio_line *l = &g->lines[i];
                if (!l->setup.output)
                        continue;
                l->wanted = 0.0;
                if (l->pwm)
                        sd_event_source_set_enabled(l->pwm, SD_EVENT_OFF);
                int k = line_set(g, l, false);
                if (k < 0 && r == 0)
                        r = k;
        }
        return r;
}

static int gpio_sync(struct driver *d, usec_t timeout_usec)
{
        return 0; /* line writes are ioctls, done when gpio_flush returns */
}

static void gpio_stats(struct driver *d, struct driver_stats *ret)
{
        *ret = to_gpio(d)->stats;
}

/* Reads an input and reports it if it changed (or was never reported). 0, or the errno of a failed read. */
static int input_refresh(struct gpio_driver *g, struct gpio_line *l)
{
        enum gpiod_line_value v;
        struct driver_event ev;
        int error = 0;

        if (l->counter) { /* its value is the count, which only edges change */
                if (!l->delivered && g->base.handler) {
                        l->delivered = true;
                        ev = (struct driver_event){DRIVER_INPUT_CHANGED, l->io, l->count, 0};
                        g->base.handler(&g->base, &ev, g->base.userdata);
                }
                return 0;
        }
        v = gpiod_line_request_get_value(g->request, l->offset);
        g->stats.reads++;
        if (v == GPIOD_LINE_VALUE_ERROR) {
                g->stats.failures++;
                error = errno ?: EIO;
                ev = (struct driver_event){DRIVER_COMM_LOST, l->io, 0, error};
        } else {
                if (l->delivered && l->active == (v == GPIOD_LINE_VALUE_ACTIVE))
                        return 0;
                l->active = v == GPIOD_LINE_VALUE_ACTIVE;
                l->delivered = true;
                if (l->output) {
                        verify(g, l->output);
                        return 0;
                }
                ev = (struct driver_event){DRIVER_INPUT_CHANGED, l->io, l->active, 0};
        }
        if (g->base.handler)
                g->base.handler(&g->base, &ev, g->base.userdata);
        return error;
}

static int on_edges(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct gpio_driver *g = userdata;
        int n = gpiod_line_request_read_edge_events(g->request, g->edges, EDGE_BUFFER);

        if (n < 0) {
                struct driver_event ev = {DRIVER_COMM_LOST, IO_NONE, 0, errno};

                if (errno == EAGAIN || errno == EINTR)
                        return 0; /* nothing after all; the next edge wakes us again */
                /* The chip is gone (unplugged, driver unbound): a readable fd that fails would spin the
                 * loop, so stop watching it and say so. */
                g->stats.failures++;
                sd_event_source_set_enabled(s, SD_EVENT_OFF);
                if (g->base.handler)
                        g->base.handler(&g->base, &ev, g->base.userdata);
                return 0;
        }
        for (int i = 0; i < n; i++) {
                struct gpiod_edge_event *e = gpiod_edge_event_buffer_get_event(g->edges, (unsigned long) i);
                unsigned offset = gpiod_edge_event_get_line_offset(e);
                /* Read the line rather than trust the edge type: a burst of edges ends in the current
                 * level. */
                for (size_t k = 0; k < g->n_lines; k++) {
                        struct gpio_line *l = &g->lines[k];
                        if (l->offset != offset || l->setup.output)
                                continue;
                        if (!l->counter) {
                                input_refresh(g, l);
                                continue;
                        }
                        /* A pulse: the rising edge of the hall sensor's line. */
                        if (gpiod_edge_event_get_event_type(e) != GPIOD_EDGE_EVENT_RISING_EDGE)
                                continue;
                        l->count++;
                        l->delivered = true;
                        struct driver_event ev = {DRIVER_INPUT_CHANGED, l->io, l->count, 0};
                        if (g->base.handler)
                                g->base.handler(&g->base, &ev, g->base.userdata);
                }
        }
        return 0;
}

/* Every input read: at start, and when the loop asks for them afresh. */
static int on_read_all(sd_event_source *s, void *userdata)
{
        struct gpio_driver *g = userdata;
        struct driver_event ev = {DRIVER_REFRESHED, IO_NONE, 0, 0};

        for (size_t i = 0; i < g->n_lines; i++)
                if (!g->lines[i].setup.output) {
                        int error = input_refresh(g, &g->lines[i]);
                        if (error && !ev.error)
                                ev.error = error; /* a line not read: its old value must not judge a reset */
                }
        /* An output whose feedback agrees again says so before the refresh is over (a reset waits on it); a
         * new difference still waits for its feedback-delay. */
        for (size_t i = 0; i < g->n_lines; i++) {
                struct gpio_line *o = &g->lines[i];
                if (o->feedback && o->mismatch && o->feedback->delivered &&
                    o->feedback->active == o->active) {
                        sd_event_source_set_enabled(o->verify, SD_EVENT_OFF);
                        verdict(g, o);
                }
        }
        if (g->refresh && g->base.handler) {
                g->refresh = false;
                g->base.handler(&g->base, &ev, g->base.userdata);
        }
        return 0;
}

/* The lines are read on the loop's next turn, not inside the caller's call: the caller hears of the result
 * as it would from any other bus. */
static int gpio_refresh(struct driver *d)
{
        struct gpio_driver *g = to_gpio(d);

        g->refresh = true;
        return sd_event_source_set_enabled(g->read_all, SD_EVENT_ONESHOT);
}

static void gpio_free(struct driver *d)
{
        struct gpio_driver *g = to_gpio(d);

        for (size_t i = 0; i < g->n_lines; i++) {
                sd_event_source_disable_unref(g->lines[i].pwm);
                sd_event_source_disable_unref(g->lines[i].verify);
        }
        sd_event_source_disable_unref(g->fd_source);
        sd_event_source_disable_unref(g->read_all);
        if (g->edges)
                gpiod_edge_event_buffer_free(g->edges);
        /* Releasing the request hands the lines back to the kernel, which keeps their last values. They
         * are safe here only if someone called safe_state first, and chaird always does. */
        if (g->request)
                gpiod_line_request_release(g->request);
        if (g->chip)
                gpiod_chip_close(g->chip);
        free(g->lines);
        sd_event_unref(g->event);
        free(g);
}

static const struct driver_ops gpio_ops = {
        .type = "gpio",
        .set = gpio_set,
        .flush = gpio_flush,
        .get = gpio_get,
        .safe_state = gpio_safe_state,
        .sync = gpio_sync,
        .stats = gpio_stats,
        .refresh = gpio_refresh,
        .written = gpio_written,
        .free = gpio_free,
};

static bool chip_matches(const char *path, const char *want)
{
        struct gpiod_chip *chip = gpiod_chip_open(path);
        struct gpiod_chip_info *info;
        bool match = false;

        if (!chip)
                return false;
        info = gpiod_chip_get_info(chip);
        if (info) {
                match = streq(gpiod_chip_info_get_label(info), want) ||
                        streq(gpiod_chip_info_get_name(info), want);
                gpiod_chip_info_free(info);
        }
        gpiod_chip_close(chip);
        return match;
}

int gpio_open_chip(const char *want, struct gpiod_chip **ret)
{
        _cleanup_free_ char *path = NULL;
        struct dirent *de;
        DIR *dir;

        if (want[0] == '/')
                path = strdup(want);
        else if ((dir = opendir("/dev"))) {
                while (!path && (de = readdir(dir)))
                        if (strncmp(de->d_name, "gpiochip", 8) == 0) {
                                char candidate[300];
                                snprintf(candidate, sizeof(candidate), "/dev/%s", de->d_name);
                                if (chip_matches(candidate, want))
                                        path = strdup(candidate);
                        }
                closedir(dir);
                if (!path)
                        return -ENODEV;
        } else
                return -errno;
        if (!path)
                return -ENOMEM;
        *ret = gpiod_chip_open(path);
        return *ret ? 0 : -errno;
}

static int request_lines(struct gpio_driver *g)
{
        struct gpiod_request_config *rc = gpiod_request_config_new();
        struct gpiod_line_config *lc = gpiod_line_config_new();
        static const enum gpiod_line_bias bias[] = {
                [GPIO_BIAS_AS_IS] = GPIOD_LINE_BIAS_AS_IS,
                [GPIO_BIAS_DISABLED] = GPIOD_LINE_BIAS_DISABLED,
                [GPIO_BIAS_PULL_UP] = GPIOD_LINE_BIAS_PULL_UP,
                [GPIO_BIAS_PULL_DOWN] = GPIOD_LINE_BIAS_PULL_DOWN,
        };
        static const enum gpiod_line_drive drive[] = {
                [GPIO_DRIVE_PUSH_PULL] = GPIOD_LINE_DRIVE_PUSH_PULL,
                [GPIO_DRIVE_OPEN_DRAIN] = GPIOD_LINE_DRIVE_OPEN_DRAIN,
                [GPIO_DRIVE_OPEN_SOURCE] = GPIOD_LINE_DRIVE_OPEN_SOURCE,
        };
        int r = -ENOMEM;

        if (!rc || !lc)
                goto out;
        gpiod_request_config_set_consumer(rc, CONSUMER);
        for (size_t i = 0; i < g->n_lines; i++) {
                const struct gpio_line_setup *s = &g->lines[i].setup;
                struct gpiod_line_settings *ls = gpiod_line_settings_new();
                unsigned offset = g->lines[i].offset;

                if (!ls)
                        goto out;
                gpiod_line_settings_set_active_low(ls, s->active_low);
                if (s->output) {
                        gpiod_line_settings_set_direction(ls, GPIOD_LINE_DIRECTION_OUTPUT);
                        gpiod_line_settings_set_drive(ls, drive[s->drive]);
                        gpiod_line_settings_set_output_value(
                                ls, s->initial_active ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE);
                } else {
                        gpiod_line_settings_set_direction(ls, GPIOD_LINE_DIRECTION_INPUT);
                        gpiod_line_settings_set_bias(ls, bias[s->bias]);
                        gpiod_line_settings_set_edge_detection(ls, GPIOD_LINE_EDGE_BOTH);
                        gpiod_line_settings_set_debounce_period_us(ls, (unsigned long) s->debounce_usec);
                }
                r = gpiod_line_config_add_line_settings(lc, &offset, 1, ls) < 0 ? -errno : 0;
                gpiod_line_settings_free(ls);
                if (r < 0)
                        goto out;
        }
        g->request = gpiod_chip_request_lines(g->chip, rc, lc);
        r = g->request ? 0 : -errno;
out:
        gpiod_request_config_free(rc);
        gpiod_line_config_free(lc);
        return r;
}

int gpio_driver_new(const struct chair_config *config, unsigned bus, sd_event *event, struct driver **ret)
{
        const struct bus_config *b = &config->buses[bus];
        struct gpio_driver *g;
        int r;

        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->base = (struct driver){.ops = &gpio_ops, .config = config, .bus = bus};
        g->event = sd_event_ref(event);
        g->lines = calloc(config->n_ios, sizeof(*g->lines));
        if (!g->lines && config->n_ios) {
                r = -ENOMEM;
                goto fail;
        }
        r = gpio_open_chip(b->chip, &g->chip);
        if (r < 0)
                goto fail;
        for (size_t i = 0; i < config->n_ios; i++) {
                const struct io_config *io = &config->ios[i];
                struct gpio_line *l;
                int offset;

                if (io->bus != bus)
                        continue;
                offset = io->line_name ? gpiod_chip_get_line_offset_from_name(g->chip, io->line_name)
                                       : (int) io->address;
                if (offset < 0) {
                        r = -ENOENT; /* the config names a line this chip does not have */
                        goto fail;
                }
                l = &g->lines[g->n_lines++];
                *l = (struct gpio_line){.driver = g,
                                        .io = (int) i,
                                        .offset = (unsigned) offset,
                                        .pwm_period_usec = io->pwm_period_usec,
                                        .counter = io->role == IO_IN_COUNTER};
                gpio_line_setup(io, &l->setup);
        }
        /* Each output with a feedback line, and that line, know each other; the output's timer waits. */
        for (size_t i = 0; i < g->n_lines; i++) {
                struct gpio_line *o = &g->lines[i];
                const struct io_config *io = &config->ios[o->io];

                if (!o->setup.output || io->feedback == IO_NONE)
                        continue;
                o->feedback = find_line(g, io->feedback);
                if (!o->feedback) {
                        r = -EINVAL; /* the config puts it on another bus, which its parser refuses */
                        goto fail;
                }
                o->feedback->output = o;
                o->feedback_delay_usec = io->feedback_delay_usec;
                r = sd_event_add_time(event, &o->verify, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_verify, o);
                if (r >= 0)
                        r = sd_event_source_set_enabled(o->verify, SD_EVENT_OFF);
                if (r >= 0)
                        r = sd_event_source_set_priority(o->verify, SD_EVENT_PRIORITY_IMPORTANT);
                if (r < 0)
                        goto fail;
        }
        r = request_lines(g);
        if (r < 0)
                goto fail;
        g->edges = gpiod_edge_event_buffer_new(EDGE_BUFFER);
        if (!g->edges) {
                r = -ENOMEM;
                goto fail;
        }
        r = sd_event_add_io(event, &g->fd_source, gpiod_line_request_get_fd(g->request), EPOLLIN, on_edges,
                            g);
        if (r >= 0) /* report every input's first value once the caller has set its handler */
                r = sd_event_add_defer(event, &g->read_all, on_read_all, g);
        /* Edges (an e-stop, a limit switch) go before D-Bus traffic, however much of it waits. */
        if (r >= 0)
                r = sd_event_source_set_priority(g->fd_source, SD_EVENT_PRIORITY_IMPORTANT);
        if (r >= 0)
                r = sd_event_source_set_priority(g->read_all, SD_EVENT_PRIORITY_IMPORTANT);
        if (r < 0)
                goto fail;
        *ret = &g->base;
        return 0;
fail:
        gpio_free(&g->base);
        return r;
}
