/* vclock.h: the unit tests' virtual clock and fake driver, for the code of chaird's loop (one test file each
 * includes it; tests/meson.build wraps the calls named below).
 *
 * The linker wraps now_usec() and sd-event's timer calls: time stands still until a test moves it, and each
 * timer fires exactly at its deadline (or as late as the test says). driver_new() is wrapped too: every bus
 * gets a fake driver that records each output with the virtual time it was set at, and through which the
 * test feeds inputs, reports bus events, and sets inputs "quietly" (not reported until the inputs are read
 * afresh, like a change the last poll has not seen yet). The fake bus reads every input all the time (read_at()
 * says now) until a test stops it reading one (stop_reading()). */
#pragma once

#include <errno.h>
#include <math.h>

#include "driver.h"

/* --- the virtual clock --- */

static usec_t vnow = 1000 * USEC_PER_SEC; /* not 0: code may treat 0 as "never" */

usec_t __wrap_now_usec(void);
usec_t __wrap_now_usec(void)
{
        return vnow;
}

#define TIMER_MAGIC 0x7a11c0c4u

struct vtimer {
        unsigned magic;
        usec_t at;
        int enabled; /* SD_EVENT_OFF, _ON, _ONESHOT */
        sd_event_time_handler_t handler;
        void *userdata;
        struct vtimer *next;
};

static struct vtimer *timers;

static struct vtimer *as_timer(sd_event_source *s)
{
        struct vtimer *t = (struct vtimer *) s;
        for (struct vtimer *i = timers; i; i = i->next)
                if (i == t)
                        return t;
        return NULL;
}

int __real_sd_event_source_set_enabled(sd_event_source *s, int enabled);
int __wrap_sd_event_source_set_enabled(sd_event_source *s, int enabled);
int __real_sd_event_source_set_time(sd_event_source *s, uint64_t usec);
int __wrap_sd_event_source_set_time(sd_event_source *s, uint64_t usec);
int __wrap_sd_event_source_set_time_relative(sd_event_source *s, uint64_t usec);
sd_event_source *__real_sd_event_source_disable_unref(sd_event_source *s);
sd_event_source *__wrap_sd_event_source_disable_unref(sd_event_source *s);
int __wrap_sd_event_add_time(sd_event *e, sd_event_source **ret, clockid_t clock, uint64_t usec,
                             uint64_t accuracy, sd_event_time_handler_t handler, void *userdata);
int __wrap_sd_event_add_time_relative(sd_event *e, sd_event_source **ret, clockid_t clock, uint64_t usec,
                                      uint64_t accuracy, sd_event_time_handler_t handler, void *userdata);

int __wrap_sd_event_add_time(sd_event *e, sd_event_source **ret, clockid_t clock, uint64_t usec,
                             uint64_t accuracy, sd_event_time_handler_t handler, void *userdata)
{
        struct vtimer *t = calloc(1, sizeof(*t));

        if (!t)
                return -ENOMEM;
        *t = (struct vtimer){TIMER_MAGIC, usec, SD_EVENT_ONESHOT, handler, userdata, timers};
        timers = t;
        *ret = (sd_event_source *) t;
        return 0;
}

int __wrap_sd_event_add_time_relative(sd_event *e, sd_event_source **ret, clockid_t clock, uint64_t usec,
                                      uint64_t accuracy, sd_event_time_handler_t handler, void *userdata)
{
        return __wrap_sd_event_add_time(e, ret, clock, vnow + usec, accuracy, handler, userdata);
}

int __real_sd_event_source_get_enabled(sd_event_source *s, int *ret);
int __wrap_sd_event_source_get_enabled(sd_event_source *s, int *ret);
int __wrap_sd_event_source_get_enabled(sd_event_source *s, int *ret)
{
        struct vtimer *t = as_timer(s);

        if (!t)
                return __real_sd_event_source_get_enabled(s, ret);
        if (ret)
                *ret = t->enabled;
        return t->enabled != SD_EVENT_OFF;
}

int __real_sd_event_source_set_priority(sd_event_source *s, int64_t priority);
int __wrap_sd_event_source_set_priority(sd_event_source *s, int64_t priority);
int __wrap_sd_event_source_set_priority(sd_event_source *s, int64_t priority)
{
        /* Virtual timers fire in deadline order: a priority changes nothing there. */
        return as_timer(s) ? 0 : __real_sd_event_source_set_priority(s, priority);
}

int __wrap_sd_event_source_set_enabled(sd_event_source *s, int enabled)
{
        struct vtimer *t = as_timer(s);

        if (!t)
                return __real_sd_event_source_set_enabled(s, enabled);
        t->enabled = enabled;
        return 0;
}

int __wrap_sd_event_source_set_time(sd_event_source *s, uint64_t usec)
{
        struct vtimer *t = as_timer(s);

        if (!t)
                return __real_sd_event_source_set_time(s, usec);
        t->at = usec;
        return 0;
}

int __wrap_sd_event_source_set_time_relative(sd_event_source *s, uint64_t usec)
{
        return __wrap_sd_event_source_set_time(s, vnow + usec);
}

sd_event_source *__wrap_sd_event_source_disable_unref(sd_event_source *s)
{
        struct vtimer *t = as_timer(s);

        if (!t)
                return __real_sd_event_source_disable_unref(s);
        for (struct vtimer **i = &timers; *i; i = &(*i)->next)
                if (*i == t) {
                        *i = t->next;
                        break;
                }
        free(t);
        return NULL;
}

/* --- the fake driver --- */

#define MAX_CHANGES 4096

struct change {
        usec_t at;
        int io;
        double value;
};

struct fake {
        struct driver base;
        sd_event *event;
        double *out; /* per io: the value last set */
        double *in;  /* per io: the value last fed */
        bool *have_in;
        double *quiet; /* per io: a value set quietly, delivered at the next refresh */
        bool *have_quiet;
        bool polling;
        int refresh_error;  /* what the next refresh reports: 0, or a positive errno */
        bool refresh_hangs; /* the next refresh never ends (a bus that does not answer) */
        unsigned refreshes; /* how many were asked for */
        bool slow_writes;   /* a value set is not written until write_out() says so (a busy bus) */
        usec_t *written_at; /* per io: when its value reached the device (USEC_INFINITY: not yet) */
        bool *follows;      /* per io: an output that read back otherwise reads back what was written at the
                               next refresh (DRIVER_OUTPUT_MATCHED before DRIVER_REFRESHED) */
        bool *stopped;      /* per io: an input the bus no longer reads (read_at() stays at read_usec) */
        usec_t *read_usec;  /* per io: when a stopped input was read last */
};

static struct fake *fake; /* one bus in config/sim.yaml */
static struct change changes[MAX_CHANGES];
static size_t n_changes;

static int fake_set(struct driver *d, int io, double value)
{
        struct fake *f = (struct fake *) d;

        if (f->out[io] != value && n_changes < MAX_CHANGES)
                changes[n_changes++] = (struct change){vnow, io, value};
        if (f->out[io] != value)
                f->written_at[io] = f->slow_writes ? USEC_INFINITY : vnow;
        f->out[io] = value;
        return 0;
}

static int fake_written(struct driver *d, int io, usec_t *ret_usec)
{
        struct fake *f = (struct fake *) d;

        if (f->written_at[io] == USEC_INFINITY)
                return -EINPROGRESS;
        *ret_usec = f->written_at[io];
        return 0;
}

static int fake_read_at(struct driver *d, int io, usec_t *ret_usec)
{
        struct fake *f = (struct fake *) d;

        if (!f->have_in[io])
                return -ENODATA;
        *ret_usec = f->stopped[io] ? f->read_usec[io] : vnow;
        return 0;
}

/* The slow bus writes io's value now. */
static inline void write_out(int io)
{
        fake->written_at[io] = vnow;
}

static int fake_flush(struct driver *d)
{
        return 0;
}

static int fake_get(struct driver *d, int io, double *ret)
{
        struct fake *f = (struct fake *) d;

        if (!f->have_in[io])
                return -ENODATA;
        *ret = f->in[io];
        return 0;
}

static int fake_safe_state(struct driver *d, usec_t timeout_usec)
{
        for (size_t i = 0; i < d->config->n_ios; i++) {
                double v;
                if (io_safe_value(&d->config->ios[i], &v))
                        fake_set(d, (int) i, v);
        }
        return 0;
}

static int fake_sync(struct driver *d, usec_t timeout_usec)
{
        return 0;
}

static void fake_stats(struct driver *d, struct driver_stats *ret)
{
        *ret = (struct driver_stats){};
}

static void fake_set_polling(struct driver *d, bool on)
{
        ((struct fake *) d)->polling = on;
}

/* Delivers what was set quietly, then says the refresh is done: on the loop's next turn, as a bus would. */
static int fake_refreshed(sd_event_source *s, void *userdata)
{
        struct fake *f = userdata;
        struct driver_event done = {DRIVER_REFRESHED, IO_NONE, 0, f->refresh_error};

        for (size_t io = 0; io < f->base.config->n_ios && !f->refresh_error; io++)
                if (f->have_quiet[io]) {
                        struct driver_event ev = {DRIVER_INPUT_CHANGED, (int) io, f->quiet[io], 0};
                        f->have_quiet[io] = false;
                        f->in[io] = f->quiet[io];
                        f->read_usec[io] = vnow;
                        f->have_in[io] = true;
                        f->base.handler(&f->base, &ev, f->base.userdata);
                }
        for (size_t io = 0; io < f->base.config->n_ios && !f->refresh_error; io++)
                if (f->follows[io]) {
                        struct driver_event ev = {DRIVER_OUTPUT_MATCHED, (int) io, f->out[io], 0};
                        f->follows[io] = false;
                        f->base.handler(&f->base, &ev, f->base.userdata);
                }
        f->base.handler(&f->base, &done, f->base.userdata);
        sd_event_source_disable_unref(s);
        return 0;
}

static int fake_refresh(struct driver *d)
{
        struct fake *f = (struct fake *) d;
        sd_event_source *s;

        f->refreshes++;
        if (f->refresh_hangs)
                return 0;
        return sd_event_add_defer(f->event, &s, fake_refreshed, f);
}

static void fake_free(struct driver *d)
{
        struct fake *f = (struct fake *) d;

        free(f->out);
        free(f->in);
        free(f->have_in);
        free(f->quiet);
        free(f->have_quiet);
        free(f->written_at);
        free(f->follows);
        free(f->stopped);
        free(f->read_usec);
        sd_event_unref(f->event);
        free(f);
        fake = NULL;
}

static const struct driver_ops fake_ops = {
        .type = "fake",
        .set = fake_set,
        .flush = fake_flush,
        .get = fake_get,
        .safe_state = fake_safe_state,
        .sync = fake_sync,
        .stats = fake_stats,
        .set_polling = fake_set_polling,
        .refresh = fake_refresh,
        .written = fake_written,
        .read_at = fake_read_at,
        .free = fake_free,
};

int __wrap_driver_new(const struct chair_config *config, unsigned bus, sd_event *event,
                      driver_handler_t handler, void *userdata, struct driver **ret);
int __wrap_driver_new(const struct chair_config *config, unsigned bus, sd_event *event,
                      driver_handler_t handler, void *userdata, struct driver **ret)
{
        struct fake *f = calloc(1, sizeof(*f));

        if (!f)
                return -ENOMEM;
        f->base = (struct driver){&fake_ops, config, bus, handler, userdata};
        f->event = sd_event_ref(event);
        f->out = calloc(config->n_ios, sizeof(double));
        f->in = calloc(config->n_ios, sizeof(double));
        f->have_in = calloc(config->n_ios, sizeof(bool));
        f->quiet = calloc(config->n_ios, sizeof(double));
        f->have_quiet = calloc(config->n_ios, sizeof(bool));
        f->written_at = calloc(config->n_ios, sizeof(usec_t));
        f->follows = calloc(config->n_ios, sizeof(bool));
        f->stopped = calloc(config->n_ios, sizeof(bool));
        f->read_usec = calloc(config->n_ios, sizeof(usec_t));
        if (!f->out || !f->in || !f->have_in || !f->quiet || !f->have_quiet || !f->written_at ||
            !f->follows || !f->stopped || !f->read_usec)
                abort();
        fake = f;
        *ret = &f->base;
        return 0;
}

/* --- moving the clock, feeding the fake --- */

static sd_event *vclock_event;  /* the loop the test runs */
static usec_t vclock_late_usec; /* how late each timer fires */

/* Runs what the loop has pending now (the chair's flush), without waiting. */
static void dispatch(void)
{
        while (sd_event_run(vclock_event, 0) > 0)
                ;
}

/* Moves the clock to until, firing each timer due on the way at its deadline (plus vclock_late_usec). */
static void advance_to(usec_t until)
{
        for (;;) {
                struct vtimer *first = NULL;
                for (struct vtimer *t = timers; t; t = t->next)
                        if (t->enabled != SD_EVENT_OFF && t->at + vclock_late_usec <= until &&
                            (!first || t->at < first->at))
                                first = t;
                if (!first)
                        break;
                usec_t at = first->at;
                if (at + vclock_late_usec > vnow)
                        vnow = at + vclock_late_usec;
                if (first->enabled == SD_EVENT_ONESHOT)
                        first->enabled = SD_EVENT_OFF;
                first->handler((sd_event_source *) first, at, first->userdata);
                dispatch();
        }
        if (until > vnow)
                vnow = until;
        dispatch();
}

static void advance(usec_t by)
{
        advance_to(vnow + by);
}

_unused_ static void feed(int io, double value)
{
        struct driver_event ev = {DRIVER_INPUT_CHANGED, io, value, 0};

        fake->in[io] = value;
        fake->have_in[io] = true;
        fake->read_usec[io] = vnow;
        fake->base.handler(&fake->base, &ev, fake->base.userdata);
        dispatch();
}

_unused_ static double out(int io)
{
        return fake->out[io];
}

/* When an output first changed to value (0: never). */
_unused_ static usec_t changed_at(int io, double value)
{
        for (size_t i = 0; i < n_changes; i++)
                if (changes[i].io == io && changes[i].value == value)
                        return changes[i].at;
        return 0;
}

/* Sets an input without telling anyone: the chair learns of it when it reads its inputs afresh. */
_unused_ static void feed_quietly(int io, double value)
{
        fake->quiet[io] = value;
        fake->have_quiet[io] = true;
}

/* The bus stops reading an input (a register it no longer answers, a sensor's poll that never comes): the
 * value stays, read at the time of this call. */
_unused_ static void stop_reading(int io)
{
        fake->stopped[io] = true;
        fake->read_usec[io] = vnow;
}

/* The stopped input is read once now, unchanged: no event, as a real bus delivers none. */
_unused_ static void read_unchanged(int io)
{
        fake->read_usec[io] = vnow;
}

/* Reports an output's read-back: DRIVER_OUTPUT_MISMATCH (its device holds value, past a poll) or
 * DRIVER_OUTPUT_MATCHED. */
_unused_ static void read_back_event(enum driver_event_type type, int io, double value)
{
        struct driver_event ev = {type, io, value, 0};

        fake->base.handler(&fake->base, &ev, fake->base.userdata);
        dispatch();
}

/* Reports a bus event (comm lost or back, a board that stopped by itself). */
_unused_ static void bus_event(enum driver_event_type type, double value, int error)
{
        struct driver_event ev = {type, IO_NONE, value, error};

        fake->base.handler(&fake->base, &ev, fake->base.userdata);
        dispatch();
}
