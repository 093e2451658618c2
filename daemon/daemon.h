/* daemon.h: chaird's context: the loop, the chair, the engine, the programs, the fault latch and the bus. */
#pragma once

#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "catalog.h"
#include "chair.h"
#include "config.h"
#include "engine.h"
#include "safety.h"

#define CHAIRD_BUS_NAME            "io.chaird.Chair1"
#define CHAIRD_OBJECT_PATH         "/io/chaird/Chair1"
#define CHAIRD_INTERFACE           "io.chaird.Chair1"
#define CHAIRD_PROGRAM_INTERFACE   "io.chaird.Chair1.Program"
#define CHAIRD_PROGRAM_PATH_PREFIX "/io/chaird/Chair1/program"

/* A jog moves for this long unless it is called again: a dead-man button. */
#define JOG_HOLD_USEC (300 * USEC_PER_MSEC)
/* ElapsedUSec and Temperatures are emitted at most this often; Positions at most once a control tick. */
#define SLOW_PROPERTY_INTERVAL_USEC USEC_PER_SEC
/* Programs sent over D-Bus are refused beyond this size. */
#define PROGRAM_TEXT_MAX (1024 * 1024)

/* Properties of the main object, as bits of a "changed" set. */
enum {
        PROP_STATE = 1u << 0,
        PROP_PROGRAM = 1u << 1,
        PROP_PHASE = 1u << 2,
        PROP_ELAPSED = 1u << 3,
        PROP_DURATION = 1u << 4,
        PROP_INTENSITY = 1u << 5,
        PROP_HEAT = 1u << 6,
        PROP_TEMPERATURES = 1u << 7,
        PROP_POSITIONS = 1u << 8,
        PROP_RECLINE = 1u << 9,
        PROP_FAULT = 1u << 10, /* Fault and FaultMessage */
        PROP_LOCKED = 1u << 11,
};

/* A D-Bus caller whose credentials were looked up (bus.c); the least recently used one gives way. */
struct caller {
        char name[64]; /* unique bus name; "" = empty slot */
        uid_t uid;
        bool member;   /* of the control group */
        uint64_t used; /* caller_clock at the last call */
};
#define CALLER_CACHE_SIZE 16

struct options {
        char *config_path;
        char **program_dirs; /* lowest priority first; InstallProgram writes into the last */
        char *state_dir;
        double time_scale;
        char *control_group;
        bool verbose;
};

struct install;

struct daemon {
        const struct options *options;
        sd_event *event;
        sd_bus *bus;
        struct chair_config *config;
        struct chair *chair;
        struct engine *engine;
        struct catalog *catalog;
        struct safety *safety;
        bool marked_active; /* the marker of an active chair is in --state-dir */
        gid_t control_gid;
        bool have_control_gid;
        struct caller callers[CALLER_CACHE_SIZE];
        uint64_t caller_clock;
        struct install *install; /* an InstallProgram whose file is being written (bus.c) */

        const char *state; /* as last published */
        /* The latched fault: fixed buffers, so that latching never depends on an allocation. "" = none. */
        char fault[32];
        char fault_message[256];
        bool locked;
        const char *recline; /* as last published; borrowed from the config */
        bool winding_down;   /* a program ended and the chair is parking / returning */
        unsigned intensity;  /* for the next Start without an intensity */

        sd_event_source *tick;
        sd_event_source *linger;     /* the tick's last second after the chair fell idle */
        sd_event_source *comm_timer; /* a bus lost while active: a fault if it stays lost safety.comm-loss */
        usec_t tick_usec;
        usec_t ticked_usec;        /* when the control tick last ran its checks */
        sd_event_source *watchdog; /* pings systemd's watchdog after checking that the tick is alive */
        usec_t watchdog_usec;
        bool watchdog_starved; /* a ping was held back (logged once) */
        unsigned dirty;        /* properties to emit */
        sd_event_source *emit_source;
        usec_t slow_emitted_usec;
        bool quitting;
};

int daemon_new(const struct options *o, struct daemon **ret);
struct daemon *daemon_free(struct daemon *d);
static inline void daemon_freep(struct daemon **d)
{
        daemon_free(*d);
}
int daemon_run(struct daemon *d);

/* Loads the programs again; on errors the previous set stays and the diagnostics are returned. */
int daemon_reload_programs(struct daemon *d, struct diag_list *diags);
/* Latches a fault: the program ends with reason, every output goes safe. */
void daemon_trip(struct daemon *d, const char *fault, enum finish_reason reason, const char *fmt, ...)
        _printf_(4, 5);
/* Clears the fault; -EBUSY (with a reason in *ret_why) while its cause is still there. */
int daemon_reset_fault(struct daemon *d, const char **ret_why);
/* Release: the program ends, air out of every bag at once, rollers stop, the legrest opens. */
void daemon_release(struct daemon *d);
/* Stop: the program ends gracefully; outside a program, motion and heat stop. */
void daemon_stop(struct daemon *d);
/* Marks properties changed; they go out at the end of this loop iteration (slow ones at most once a second).
 */
void daemon_changed(struct daemon *d, unsigned props);
/* Emits the changed properties now (rate-limited sensor ones excepted), before a signal that follows them.
 */
void daemon_emit_pending(struct daemon *d);
/* Recomputes State, and whether the control tick and input polling run. */
void daemon_update_state(struct daemon *d);

/* bus.c */
int bus_setup(struct daemon *d);
void bus_emit_properties(struct daemon *d, unsigned props);
void bus_emit_finished(struct daemon *d, const char *program, const char *reason);
void bus_emit_catalog_changes(struct daemon *d, const struct catalog *old);
/* Waits for an install still writing its file (its caller gets no reply: the bus is closing). */
void bus_install_free(struct daemon *d);
