/* daemon.c: chaird's context: the loop, the chair, the engine, the programs, the fault latch and the bus. */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "log.h"

/* The control tick when no Modbus bus sets a poll period. */
#define TICK_DEFAULT_USEC (100 * USEC_PER_MSEC)
/* After the chair falls idle, inputs are still read this long, so that the last positions and temperatures
 * arrive (and at start, the first ones). */
#define IDLE_LINGER_USEC USEC_PER_SEC
/* At start and at exit, how long to wait for the safe state to be written. */
#define SAFE_STATE_TIMEOUT_USEC (2 * USEC_PER_SEC)

static const unsigned slow_props = PROP_TEMPERATURES | PROP_ELAPSED;

static void emit_now(struct daemon *d, unsigned props)
{
        props &= d->dirty;
        if (!props)
                return;
        d->dirty &= ~props;
        bus_emit_properties(d, props);
}

static int on_emit(sd_event_source *s, void *userdata)
{
        struct daemon *d = userdata;
        bool ticking = d->tick && sd_event_source_get_enabled(d->tick, NULL) > 0;

        /* Sensor readings go out with the control tick, at most once a tick (positions) or a second; when
         * the tick stops, the last of them go out now. */
        emit_now(d, ticking ? ~(slow_props | PROP_POSITIONS) : ~0u);
        return 0;
}

void daemon_emit_pending(struct daemon *d)
{
        emit_now(d, ~(slow_props | PROP_POSITIONS));
}

void daemon_changed(struct daemon *d, unsigned props)
{
        d->dirty |= props;
        if (d->emit_source)
                sd_event_source_set_enabled(d->emit_source, SD_EVENT_ONESHOT);
}

static const char *compute_state(struct daemon *d)
{
        if (d->fault[0])
                return "fault";
        switch (engine_state(d->engine)) {
        case ENGINE_SCANNING:
                return "scanning";
        case ENGINE_RUNNING:
                return "running";
        case ENGINE_PAUSED:
                return "paused";
        default:
                break;
        }
        if (d->winding_down && !chair_roller_parked(d->chair))
                return "stopping";
        d->winding_down = false;
        if (chair_moving(d->chair))
                return "homing";
        return "idle";
}

void daemon_update_state(struct daemon *d)
{
        const char *s = compute_state(d);
        bool active = !streq(s, "idle") || chair_busy(d->chair);

        if (!streq_ptr(s, d->state)) {
                d->state = s;
                log_debug("State: %s", s);
                daemon_changed(d, PROP_STATE);
        }
        /* Idle costs nothing: no tick, no polling, no heartbeat (the board's own watchdog then holds it
         * safe, which is where it is anyway). */
        bool ticking = sd_event_source_get_enabled(d->tick, NULL) > 0;
        if (active && !d->marked_active && d->safety)
                d->marked_active = safety_mark_active(d->safety, true) >= 0;
        if (active) {
                sd_event_source_set_enabled(d->linger, SD_EVENT_OFF);
                if (!ticking) {
                        d->ticked_usec = now_usec(); /* the watchdog's grace starts with the tick */
                        sd_event_source_set_time_relative(d->tick, 0);
                        sd_event_source_set_enabled(d->tick, SD_EVENT_ON);
                        chair_set_active(d->chair, true);
                }
        } else if (ticking && sd_event_source_get_enabled(d->linger, NULL) <= 0) {
                sd_event_source_set_time_relative(d->linger, IDLE_LINGER_USEC);
                sd_event_source_set_enabled(d->linger, SD_EVENT_ONESHOT);
        }
}

static int on_linger(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct daemon *d = userdata;

        if (!streq(compute_state(d), "idle") || chair_busy(d->chair))
                return 0; /* active again; update_state keeps it going */
        sd_event_source_set_enabled(d->tick, SD_EVENT_OFF);
        chair_set_active(d->chair, false);
        on_emit(NULL, d);
        if (d->marked_active && safety_mark_active(d->safety, false) >= 0)
                d->marked_active = false;
        return 0;
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct daemon *d = userdata;
        usec_t now = now_usec();

        safety_check(d->safety);
        d->ticked_usec = now;
        chair_tick(d->chair);
        if (engine_state(d->engine) == ENGINE_RUNNING)
                d->dirty |= PROP_ELAPSED;
        emit_now(d, PROP_POSITIONS);
        if (now - d->slow_emitted_usec >= SLOW_PROPERTY_INTERVAL_USEC && (d->dirty & slow_props)) {
                d->slow_emitted_usec = now;
                emit_now(d, slow_props);
        }
        sd_event_source_set_time(s, usec + d->tick_usec);
        return 0;
}

void daemon_trip(struct daemon *d, const char *fault, enum finish_reason reason, const char *fmt, ...)
{
        va_list ap;
        int r;

        if (!d->fault[0]) { /* the first cause is the one to report */
                snprintf(d->fault, sizeof(d->fault), "%s", fault);
                va_start(ap, fmt);
                vsnprintf(d->fault_message, sizeof(d->fault_message), fmt, ap);
                va_end(ap);
                log_fields(LOG_ERR, 0, NULL, NULL, fault, "Fault %s: %s", fault, d->fault_message);
                daemon_changed(d, PROP_FAULT);
        }
        r = chair_safe(d->chair, 0);
        if (r < 0)
                log_error_errno(r, "Cannot put the outputs safe: %m");
        engine_abort(d->engine, reason);
        d->winding_down = false;
        daemon_update_state(d);
}

int daemon_reset_fault(struct daemon *d, const char **ret_why)
{
        if (!d->fault[0])
                return 0;
        if (streq(d->fault, "emergency-stop") && chair_estop_pressed(d->chair)) {
                *ret_why = "the emergency-stop button is still pressed";
                return -EBUSY;
        }
        if (streq(d->fault, "comm-lost") && !chair_comm_ok(d->chair)) {
                *ret_why = "the board still does not answer";
                return -EBUSY;
        }
        const char *why = safety_cause(d->safety, d->fault);
        if (why) {
                *ret_why = why;
                return -EBUSY;
        }
        log_fields(LOG_NOTICE, 0, NULL, NULL, d->fault, "Fault %s reset", d->fault);
        d->fault[0] = d->fault_message[0] = '\0';
        daemon_changed(d, PROP_FAULT);
        /* The checks see the chair as the trip left it (nothing driven, every zone off) before anything can
         * be asked of it: a hazard trips once until a check sees it gone, and the trip itself took some away
         * (heat on too long, a motor driven too long). A call that came before the next tick would otherwise
         * find them still counted as present: heat asked for at once got no timeout at all. */
        if (d->safety)
                safety_check(d->safety);
        daemon_update_state(d);
        return 0;
}

static void vent_and_hold(struct daemon *d)
{
        chair_hold(d->chair);
        for (size_t z = 0; z < d->config->n_zones; z++)
                chair_airbag(d->chair, z, VALVE_VENT, 0);
}

void daemon_stop(struct daemon *d)
{
        if (engine_stop(d->engine, FINISH_STOPPED) == 0)
                return;
        /* No program: whatever moves or heats on its own (a recline, a jog, heat set by hand) stops. */
        vent_and_hold(d);
        for (size_t h = 0; h < d->config->n_heaters; h++)
                chair_heat(d->chair, h, 0);
        d->winding_down = false;
        daemon_update_state(d);
}

void daemon_release(struct daemon *d)
{
        engine_abort(d->engine, FINISH_STOPPED);
        vent_and_hold(d);
        /* Driving the legrest open frees a trapped leg; cutting power would leave it clamped. Not against a
         * pressed emergency stop, which means: nothing moves. */
        if (d->config->axis[AXIS_LEGREST] && !chair_estop_pressed(d->chair))
                chair_move_axis(d->chair, AXIS_LEGREST, 1.0);
        log_notice("Release: airbags vented, rollers stopped, legrest opening");
        d->winding_down = false;
        daemon_update_state(d);
}

static void on_chair(struct chair *c, unsigned changes, void *userdata)
{
        struct daemon *d = userdata;
        unsigned props = 0;

        if (!d->engine)
                return; /* still starting: the first state is computed once everything is there */
        if (changes & CHAIR_CHANGED_POSITIONS)
                props |= PROP_POSITIONS;
        if (changes & CHAIR_CHANGED_TEMPERATURES)
                props |= PROP_TEMPERATURES;
        if ((changes & CHAIR_CHANGED_MOTION) && chair_recline_preset(c) != d->recline) {
                d->recline = chair_recline_preset(c);
                props |= PROP_RECLINE;
        }
        if (changes & CHAIR_CHANGED_HEAT)
                props |= PROP_HEAT;
        daemon_changed(d, props);
        if (changes & CHAIR_CHANGED_SCAN)
                engine_on_chair(d->engine, changes);
        /* Readings are checked as they come, not at the next tick: an obstacle stops within one poll. */
        if (d->safety &&
            (changes & (CHAIR_CHANGED_SAFETY | CHAIR_CHANGED_POSITIONS | CHAIR_CHANGED_TEMPERATURES)))
                safety_check(d->safety);
        if ((changes & CHAIR_CHANGED_ESTOP) && chair_estop_pressed(c))
                daemon_trip(d, "emergency-stop", FINISH_EMERGENCY_STOP,
                            "the emergency-stop button was pressed");
        if (changes & CHAIR_CHANGED_BOARD_STOPPED) {
                char timeout[DURATION_MAX_STR];
                double gap_ms;
                const struct bus_config *bus = chair_board_stopped(c, &gap_ms);
                daemon_trip(d, "board-stopped", FINISH_FAULT,
                            "the board on bus %s stopped everything by itself: no heartbeat reached it for "
                            "%.0f ms "
                            "(its timeout is %s), because chaird was held up or the board was reconnected",
                            bus->name, gap_ms,
                            format_duration(timeout, sizeof(timeout), bus->heartbeat_timeout_usec));
        }
        if ((changes & CHAIR_CHANGED_COMM) && chair_comm_ok(c))
                sd_event_source_set_enabled(d->comm_timer, SD_EVENT_OFF);
        else if ((changes & CHAIR_CHANGED_COMM) && !streq_ptr(d->state, "idle") &&
                 sd_event_source_get_enabled(d->comm_timer, NULL) <= 0) {
                sd_event_source_set_time_relative(d->comm_timer, d->config->safety.comm_loss_usec);
                sd_event_source_set_enabled(d->comm_timer, SD_EVENT_ONESHOT);
        }
        if (changes & (CHAIR_CHANGED_MOTION | CHAIR_CHANGED_HEAT | CHAIR_CHANGED_SCAN))
                daemon_update_state(d);
}

/* systemd's watchdog is pinged only while the control tick runs and checks (when the chair is active), or
 * from a quiet loop (idle, no tick: this timer firing at all shows the loop is alive). A hung loop, or one
 * whose tick stopped, lets the watchdog kill and restart chaird, which then comes up "interrupted". */
static int on_watchdog(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct daemon *d = userdata;
        usec_t now = now_usec();
        bool ticking = sd_event_source_get_enabled(d->tick, NULL) > 0;
        bool healthy = !ticking || now - d->ticked_usec <= d->watchdog_usec / 2;

        if (healthy) {
                sd_notify(false, "WATCHDOG=1");
                d->watchdog_starved = false;
        } else if (!d->watchdog_starved) {
                log_error("The control tick has not run its checks for %llu ms: holding back systemd's "
                          "watchdog",
                          (unsigned long long) ((now - d->ticked_usec) / USEC_PER_MSEC));
                d->watchdog_starved = true;
        }
        sd_event_source_set_time(s, usec + d->watchdog_usec / 2);
        return 0;
}

static int on_comm_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct daemon *d = userdata;
        char limit[DURATION_MAX_STR];

        if (!chair_comm_ok(d->chair))
                daemon_trip(d, "comm-lost", FINISH_FAULT,
                            "a bus did not answer for %s while the chair was active",
                            format_duration(limit, sizeof(limit), d->config->safety.comm_loss_usec));
        return 0;
}

static void on_engine_changed(struct engine *e, unsigned what, void *userdata)
{
        struct daemon *d = userdata;
        unsigned props = 0;

        if (what & ENGINE_CHANGED_PROGRAM)
                props |= PROP_PROGRAM | PROP_DURATION | PROP_ELAPSED;
        if (what & ENGINE_CHANGED_PHASE)
                props |= PROP_PHASE;
        if (what & ENGINE_CHANGED_INTENSITY)
                props |= PROP_INTENSITY;
        daemon_changed(d, props);
        if (what & ENGINE_CHANGED_STATE)
                daemon_update_state(d);
}

static void on_engine_finished(struct engine *e, const char *program, enum finish_reason reason,
                               void *userdata)
{
        struct daemon *d = userdata;

        d->winding_down = reason != FINISH_FAULT && reason != FINISH_EMERGENCY_STOP;
        d->dirty |= PROP_ELAPSED;
        daemon_update_state(d);
        bus_emit_finished(d, program, finish_reason_to_string(reason));
}

int daemon_reload_programs(struct daemon *d, struct diag_list *diags)
{
        struct catalog *old = d->catalog, *fresh = NULL;
        int r;

        r = catalog_load(d->options->program_dirs, d->config, diags, &fresh);
        diag_sort(diags);
        for (size_t i = 0; i < diags->n; i++) {
                _cleanup_free_ char *line = diag_format(&diags->items[i]);
                log_fields(diags->items[i].severity == SEVERITY_ERROR ? LOG_ERR : LOG_WARNING, 0, NULL, NULL,
                           NULL, "%s", line ?: "out of memory");
        }
        if (r < 0) {
                if (old)
                        log_error("Programs not reloaded: the %zu program%s loaded before stay", old->n,
                                  old->n == 1 ? "" : "s");
                return r;
        }
        d->catalog = fresh;
        if (old && d->bus)
                bus_emit_catalog_changes(d, old);
        catalog_free(old);
        log_info("%zu program%s loaded", fresh->n, fresh->n == 1 ? "" : "s");
        return 0;
}

static int on_sigterm(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        struct daemon *d = userdata;

        log_info("Stopping on signal %s", sigabbrev_np((int) si->ssi_signo) ?: "?");
        d->quitting = true;
        return sd_event_exit(d->event, 0);
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        struct daemon *d = userdata;
        struct diag_list diags = {};

        log_info("Reloading programs (SIGHUP)");
        daemon_reload_programs(d, &diags);
        diag_list_clear(&diags);
        return 0;
}

/* --time-scale is for the simulator: only Modbus TCP on a loopback address or RTU on a pseudo-terminal. */
static bool bus_is_simulated(const struct bus_config *b)
{
        _cleanup_free_ char *real = NULL;

        switch (b->type) {
        case BUS_MODBUS_TCP:
                return streq(b->host, "localhost") || strncmp(b->host, "127.", 4) == 0 ||
                       streq(b->host, "::1");
        case BUS_MODBUS_RTU:
                real = realpath(b->device, NULL);
                return real && strncmp(real, "/dev/pts/", 9) == 0;
        default:
                return false;
        }
}

static usec_t tick_period(const struct chair_config *c)
{
        usec_t t = USEC_INFINITY;

        for (size_t i = 0; i < c->n_buses; i++)
                if (c->buses[i].type != BUS_GPIO && c->buses[i].poll_usec < t)
                        t = c->buses[i].poll_usec;
        return t == USEC_INFINITY ? TICK_DEFAULT_USEC : t;
}

static int load_config(struct daemon *d)
{
        struct diag_list diags = {};
        int r = chair_config_load_file(d->options->config_path, &diags, &d->config);

        diag_sort(&diags);
        for (size_t i = 0; i < diags.n; i++) {
                _cleanup_free_ char *line = diag_format(&diags.items[i]);
                log_error("%s", line ?: "out of memory");
        }
        diag_list_clear(&diags);
        if (r == -EINVAL)
                return log_error_errno(r, "The hardware config %s is not valid", d->options->config_path);
        if (r < 0)
                return log_error_errno(r, "Cannot read the hardware config %s: %m", d->options->config_path);
        return 0;
}

int daemon_new(const struct options *o, struct daemon **ret)
{
        static const struct engine_callbacks engine_cb = {on_engine_changed, on_engine_finished};
        _cleanup_(daemon_freep) struct daemon *d = calloc(1, sizeof(*d));
        struct diag_list diags = {};
        sigset_t mask;
        int r;

        if (!d)
                return -ENOMEM;
        /* Blocked before any thread starts (the bus threads inherit the mask): the loop takes them by
         * signalfd, and a signal must never land in a thread that would die of it. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        d->options = o;
        d->intensity = INTENSITY_DEFAULT;
        r = load_config(d);
        if (r < 0)
                return r;
        if (o->time_scale != 1.0)
                for (size_t i = 0; i < d->config->n_buses; i++)
                        if (!bus_is_simulated(&d->config->buses[i]))
                                return log_error_errno(EINVAL,
                                                       "--time-scale is for the simulator; bus %s is real "
                                                       "hardware",
                                                       d->config->buses[i].name);

        r = sd_event_default(&d->event);
        if (r < 0)
                return log_error_errno(r, "Cannot create the event loop: %m");

        /* Outputs first: the drivers start every output at its safe value and the wait makes sure it is out.
         */
        r = chair_new(d->config, d->event, on_chair, d, &d->chair);
        if (r < 0)
                return r;
        r = chair_safe(d->chair, SAFE_STATE_TIMEOUT_USEC);
        if (r < 0)
                log_warning_errno(r, "The safe state could not be written yet (%m); the buses keep trying");

        r = engine_new(d->event, d->chair, d->config, o->time_scale, &engine_cb, d, &d->engine);
        if (r < 0)
                return log_error_errno(r, "Cannot create the engine: %m");
        r = daemon_reload_programs(d, &diags);
        diag_list_clear(&diags);
        if (r == -ENOMEM)
                return log_error_errno(r, "Out of memory");
        if (r < 0)
                return log_error_errno(r, "Some programs are broken; fix them or move them away");

        if (o->control_group) {
                struct group *g = getgrnam(o->control_group);
                if (g) {
                        d->control_gid = g->gr_gid;
                        d->have_control_gid = true;
                } else
                        log_warning("Control group '%s' does not exist: only root may control the chair",
                                    o->control_group);
        }

        d->tick_usec = tick_period(d->config);
        r = sd_event_add_time_relative(d->event, &d->tick, CLOCK_MONOTONIC, 0, 0, on_tick, d);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(d->event, &d->linger, CLOCK_MONOTONIC, IDLE_LINGER_USEC,
                                       USEC_PER_MSEC, on_linger, d);
        if (r < 0)
                return r;
        r = sd_event_add_time(d->event, &d->comm_timer, CLOCK_MONOTONIC, USEC_INFINITY, USEC_PER_MSEC,
                              on_comm_timer, d);
        if (r < 0)
                return r;
        sd_event_source_set_enabled(d->comm_timer, SD_EVENT_OFF);
        /* Ticking at first, to read every input once; it stops after the linger if the chair is idle. */
        d->ticked_usec = now_usec();
        sd_event_source_set_enabled(d->tick, SD_EVENT_ON);
        chair_set_active(d->chair, true);
        r = sd_event_add_defer(d->event, &d->emit_source, on_emit, d);
        if (r < 0)
                return r;
        sd_event_source_set_enabled(d->emit_source, SD_EVENT_OFF);

        if ((r = sd_event_add_signal(d->event, NULL, SIGTERM, on_sigterm, d)) < 0 ||
            (r = sd_event_add_signal(d->event, NULL, SIGINT, on_sigterm, d)) < 0 ||
            (r = sd_event_add_signal(d->event, NULL, SIGHUP, on_sighup, d)) < 0)
                return log_error_errno(r, "Cannot watch signals: %m");

        r = safety_new(d, &d->safety);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        char what[256];
        if (safety_was_interrupted(d->safety, what, sizeof(what))) {
                d->marked_active = true; /* it stays until the chair is idle and safe again */
                daemon_trip(d, "interrupted", FINISH_FAULT,
                            "chaird ended while the chair was active or held a fault (%s); check the chair, "
                            "then reset",
                            what);
        }
        uint64_t watchdog_usec = 0;
        if (sd_watchdog_enabled(false, &watchdog_usec) > 0 && watchdog_usec > 0) {
                d->watchdog_usec = watchdog_usec;
                r = sd_event_add_time_relative(d->event, &d->watchdog, CLOCK_MONOTONIC, 0, 0, on_watchdog,
                                               d);
                if (r >= 0)
                        r = sd_event_source_set_enabled(d->watchdog, SD_EVENT_ON);
                if (r < 0)
                        return log_error_errno(r, "Cannot set up the watchdog: %m");
                log_info("systemd watchdog: pinged every %llu ms from the checked control tick",
                         (unsigned long long) (watchdog_usec / 2 / USEC_PER_MSEC));
        }

        r = bus_setup(d);
        if (r < 0)
                return r;
        daemon_update_state(d);
        *ret = TAKE_PTR(d);
        return 0;
}

int daemon_run(struct daemon *d)
{
        int r;

        /* The name is ours (bus_setup requested it synchronously): clients can call now. */
        sd_notify(false, "READY=1\nSTATUS=Ready");
        log_info("Ready: %zu program%s, config %s", d->catalog->n, d->catalog->n == 1 ? "" : "s",
                 d->options->config_path);
        r = sd_event_loop(d->event);
        sd_notify(false, "STOPPING=1");
        /* Whatever ran ends here, and nothing is left driven. */
        engine_abort(d->engine, FINISH_STOPPED);
        if (chair_safe(d->chair, SAFE_STATE_TIMEOUT_USEC) < 0)
                log_error("The safe state could not be confirmed on every bus before exit");
        else if (d->marked_active && !d->fault[0]) /* a latched fault stays for the next start to report */
                safety_mark_active(d->safety, false);
        if (d->bus)
                sd_bus_flush(d->bus);
        return r;
}

struct daemon *daemon_free(struct daemon *d)
{
        if (!d)
                return NULL;
        sd_event_source_disable_unref(d->tick);
        sd_event_source_disable_unref(d->linger);
        sd_event_source_disable_unref(d->comm_timer);
        sd_event_source_disable_unref(d->emit_source);
        sd_event_source_disable_unref(d->watchdog);
        bus_install_free(d);
        safety_free(d->safety);
        engine_free(d->engine);
        catalog_free(d->catalog);
        chair_free(d->chair);
        sd_bus_flush_close_unref(d->bus);
        sd_event_unref(d->event);
        chair_config_free(d->config);
        free(d);
        return NULL;
}
