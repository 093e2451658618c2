/* api.c: chaird's D-Bus API: io.chaird.Chair1, one object per program, typed errors, authorization. A client
 * of the core's narrow functions (daemon.h); its own state (the bus, who the callers are, an install being
 * written) lives here. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>

#include "api.h"
#include "history.h"
#include "build-config.h"
#include "busdict.h"
#include "callers.h"
#include "frontend.h"
#include "log.h"
#include "manual.h"
#include "profiles.h"
#include "usage.h"
#include "writer.h"

#define E_NO_SUCH_PROGRAM  CHAIRD_ERROR_PREFIX "NoSuchProgram"
#define E_INVALID_PROGRAM  CHAIRD_ERROR_PREFIX "InvalidProgram"
#define E_FAULTED          CHAIRD_ERROR_PREFIX "Faulted"
#define E_INTERLOCKED      CHAIRD_ERROR_PREFIX "Interlocked"
#define E_BUSY             CHAIRD_ERROR_PREFIX "Busy"
#define E_NOT_PERMITTED    CHAIRD_ERROR_PREFIX "NotPermitted"
#define E_LOCKED           CHAIRD_ERROR_PREFIX "Locked"
#define E_INVALID_ARGUMENT CHAIRD_ERROR_PREFIX "InvalidArgument"
#define E_NO_SUCH_PRESET   CHAIRD_ERROR_PREFIX "NoSuchPreset"
#define E_NO_SUCH_ZONE     CHAIRD_ERROR_PREFIX "NoSuchZone"
#define E_NO_SUCH_AXIS     CHAIRD_ERROR_PREFIX "NoSuchAxis"
#define E_NO_SUCH_PROFILE  CHAIRD_ERROR_PREFIX "NoSuchProfile"
#define E_LIMIT_REACHED    CHAIRD_ERROR_PREFIX "LimitReached"
#define E_NOT_RUNNING      CHAIRD_ERROR_PREFIX "NotRunning"
#define E_NOT_SUPPORTED    CHAIRD_ERROR_PREFIX "NotSupported"
#define E_FAILED           CHAIRD_ERROR_PREFIX "Failed"

struct install;

struct api {
        struct daemon *d;
        sd_bus *bus;
        struct callers *callers;
        struct install *install; /* an InstallProgram whose file is being written */
        struct manual *manual;   /* the running manual session's choices; NULL when none runs */
        struct saving *savings;  /* profile calls answered once their file is on the disk */
};

/* A call that changed a profile, answered once the change is on the disk (or could not be written). */
struct saving {
        struct api *a;
        sd_bus_message *call;
        char name[PROFILE_NAME_MAX + 1];
        struct saving *next;
};

/* Root may always control the chair; others need the control group, and the child lock stops them. */
static int check_control(struct api *a, sd_bus_message *m, bool obey_lock, sd_bus_error *error)
{
        struct caller c;
        int r = callers_lookup(a->callers, m, &c);

        if (r < 0)
                return sd_bus_error_setf(error, E_NOT_PERMITTED, "Cannot tell who is asking: %s",
                                         strerror(-r));
        if (c.uid == 0)
                return 0;
        if (!c.member)
                return sd_bus_error_setf(error, E_NOT_PERMITTED,
                                         "Controlling the chair needs root or membership of group '%s'",
                                         daemon_options(a->d)->control_group ?: "");
        if (obey_lock && daemon_locked(a->d))
                return sd_bus_error_set(error, E_LOCKED, "The chair is locked (child lock)");
        return 0;
}

/* The core's refusal of a command that moves or heats, as a typed error; other errors are left to the
 * caller. */
static int interlock_error(struct api *a, int r, sd_bus_error *error)
{
        if (r == -ENOTRECOVERABLE)
                return sd_bus_error_setf(error, E_FAULTED, "The chair is in fault %s (%s); ResetFault first",
                                         fault_to_string(daemon_fault(a->d)), daemon_fault_message(a->d));
        if (r == -EPERM)
                return sd_bus_error_set(error, E_INTERLOCKED, "The emergency-stop button is pressed");
        return 0;
}

static int reply_done(sd_bus_message *m)
{
        return sd_bus_reply_method_return(m, NULL);
}

/* A profile that is not on the disk: what failed (a file or the folder, path) and why. */
static int not_saved_error(sd_bus_error *error, const char *name, int r, const char *path)
{
        return sd_bus_error_setf(error, E_FAILED, "Profile %s is not saved on the disk: %s: %s", name, path,
                                 file_error_words(r));
}

static struct saving *saving_free(struct saving *s)
{
        struct saving **p;

        for (p = &s->a->savings; *p && *p != s; p = &(*p)->next)
                ;
        if (*p)
                *p = s->next;
        sd_bus_message_unref(s->call);
        free(s);
        return NULL;
}

static void on_profile_saved(int result, const char *path, void *userdata)
{
        struct saving *s = userdata;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (result < 0) {
                not_saved_error(&error, s->name, result, path);
                r = sd_bus_reply_method_error(s->call, &error);
        } else
                r = reply_done(s->call);
        if (r < 0)
                log_debug("Cannot answer %s: %s", sd_bus_message_get_member(s->call), strerror(-r));
        saving_free(s);
}

/* What a call asked of profile name is answered once it is on the disk: what is answered "ok" survives a
 * power cut, and a write that fails is the caller's error, not only a line in the journal. */
static int reply_when_saved(struct api *a, sd_bus_message *m, const char *name, sd_bus_error *error)
{
        struct saving *s = calloc(1, sizeof(*s));
        int r;

        /* Every front-end rereads the profile (GetProfile) or drops it, without polling. */
        r = sd_bus_emit_signal(a->bus, CHAIRD_OBJECT_PATH, CHAIRD_INTERFACE, "ProfileChanged", "s", name);
        if (r < 0)
                log_debug("Cannot emit ProfileChanged: %s", strerror(-r));

        if (!s)
                return -ENOMEM;
        *s = (struct saving){.a = a, .call = sd_bus_message_ref(m), .next = a->savings};
        snprintf(s->name, sizeof(s->name), "%s", name);
        a->savings = s;
        r = daemon_profile_wait(a->d, name, on_profile_saved, s);
        if (r != 0)
                saving_free(s);
        if (r < 0)
                return not_saved_error(error, name, r, daemon_profiles_dir(a->d));
        return r > 0 ? reply_done(m) : 1;
}

/* A refusal of bus_dict_read (why set) as a typed error; sd-bus's own errors as they are. */
static int options_error(int r, const char *why, sd_bus_error *error)
{
        if (!why[0])
                return r;
        return sd_bus_error_set(error, r == -EOPNOTSUPP ? E_NOT_SUPPORTED : E_INVALID_ARGUMENT, why);
}

/* Start's options. */
struct start_options {
        uint64_t duration;  /* 0: the program's */
        unsigned intensity; /* 0: the chair's present one */
};

static int method_start(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        const struct bus_option options[] = {
                {"duration", "t", offsetof(struct start_options, duration), PROGRAM_DURATION_MIN_USEC,
                 (int64_t) daemon_config(a->d)->safety.session_cap_usec, .unit = "us, the session cap"},
                {"intensity", "u", offsetof(struct start_options, intensity), INTENSITY_MIN, INTENSITY_MAX},
        };
        struct start_options o = {};
        char why[256];
        const char *id;
        int r;

        r = sd_bus_message_read(m, "s", &id);
        if (r < 0)
                return r;
        r = bus_dict_read(m, options, ELEMENTSOF(options), &o, NULL, NULL, NULL, why, sizeof(why));
        if (r < 0)
                return options_error(r, why, error);

        /* "": the selected profile's program. */
        if (id[0] && !program_id_is_valid(id))
                return sd_bus_error_setf(error, E_INVALID_ARGUMENT,
                                         "'%.64s%s' is not a program id (1-64 of a-z, 0-9 and '-')", id,
                                         strlen(id) > 64 ? "..." : "");
        r = check_control(a, m, true, error);
        if (r < 0)
                return r;
        const struct profile *pr = daemon_profile(a->d);
        if (!id[0] && !pr)
                return sd_bus_error_set(error, E_NO_SUCH_PROGRAM,
                                        "No program named, and no profile selected");
        if (!id[0] && !pr->program[0])
                return sd_bus_error_setf(error, E_NO_SUCH_PROGRAM,
                                         "No program named, and profile %s has none", pr->name);
        if (!id[0])
                id = pr->program;
        r = daemon_start(a->d, id, o.duration, o.intensity);
        if (interlock_error(a, r, error) < 0)
                return -EINVAL;
        if (r == -ENOENT)
                return sd_bus_error_setf(error, E_NO_SUCH_PROGRAM, "No program '%s'", id);
        if (r == -ERANGE)
                return sd_bus_error_setf(
                        error, E_INVALID_ARGUMENT,
                        "Program %s runs longer than the session cap; give a shorter duration", id);
        if (r == -EBUSY)
                return sd_bus_error_setf(error, E_BUSY, "Program %s is running; Stop it first",
                                         daemon_program(a->d)->id);
        if (r < 0)
                return sd_bus_error_setf(error, E_FAILED, "Cannot start %s: %s", id, strerror(-r));
        return reply_done(m);
}

/* What the core says to a command that starts or changes a session, as a typed error. */
static int session_error(struct api *a, int r, const char *what, sd_bus_error *error)
{
        if (interlock_error(a, r, error) < 0)
                return -EINVAL;
        if (r == -ERANGE)
                return sd_bus_error_setf(error, E_INVALID_ARGUMENT, "%s: longer than the session cap", what);
        if (r == -EBUSY)
                return sd_bus_error_setf(error, E_BUSY, "Program %s is running; Stop it first",
                                         daemon_program(a->d)->id);
        if (r == -ENOENT)
                return sd_bus_error_set(error, E_NOT_RUNNING, "No program is running");
        return sd_bus_error_setf(error, E_FAILED, "%s: %s", what, strerror(-r));
}

/* A manual session's duration: given, or the config's default within the session cap. */
static int manual_duration_check(struct api *a, usec_t given, usec_t *ret, sd_bus_error *error)
{
        const struct chair_config *config = daemon_config(a->d);
        usec_t cap = config->safety.session_cap_usec;

        if (!given) {
                *ret = config->sessions.manual_duration_usec < cap ? config->sessions.manual_duration_usec
                                                                   : cap;
                return 0;
        }
        if (given < PROGRAM_DURATION_MIN_USEC || given > cap)
                return sd_bus_error_setf(
                        error, E_INVALID_ARGUMENT,
                        "duration: %llu us is out of range (%llu to %llu us, the session cap)",
                        (unsigned long long) given, (unsigned long long) PROGRAM_DURATION_MIN_USEC,
                        (unsigned long long) cap);
        *ret = given;
        return 0;
}

/* The program a manual session's choices make, checked as a program file is; a typed error naming the key
 * otherwise. */
static int manual_build(struct api *a, const struct manual *mo, usec_t duration, struct program **ret,
                        sd_bus_error *error)
{
        struct pattern_library lib = {};
        struct diag_list diags = {};
        char why[512] = "";
        int r;

        /* A broken pattern file leaves the others in the library, as it does for the programs. */
        r = catalog_load_library(daemon_options(a->d)->program_dirs, &lib, &diags);
        diag_list_clear(&diags);
        if (r == -ENOMEM)
                return r;
        r = manual_program(mo, duration, daemon_config(a->d), &lib, ret, why, sizeof(why));
        pattern_library_clear(&lib);
        if (r == -EINVAL)
                return sd_bus_error_setf(error, E_INVALID_ARGUMENT, "%s", why);
        if (r == -EOPNOTSUPP)
                return sd_bus_error_setf(error, E_NOT_SUPPORTED, "%s", why);
        return r;
}

static int method_start_manual(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        _cleanup_(manual_freep) struct manual *mo = NULL;
        struct program *p = NULL;
        char why[512] = "";
        usec_t duration;
        int r;

        r = manual_new(&mo);
        if (r < 0)
                return r;
        r = manual_read(mo, m, false, why, sizeof(why));
        if (r < 0)
                return options_error(r, why, error);
        if (!manual_has_work(mo))
                return sd_bus_error_set(error, E_INVALID_ARGUMENT,
                                        "A manual session needs something to do: roller, airbags, heat or "
                                        "foot-rollers");
        r = manual_duration_check(a, manual_duration(mo), &duration, error);
        if (r < 0)
                return r;
        r = check_control(a, m, true, error);
        if (r < 0)
                return r;
        r = manual_build(a, mo, duration, &p, error);
        if (r < 0)
                return r;
        r = daemon_start_manual(a->d, p, duration);
        if (r < 0)
                return session_error(a, r, "Cannot start the manual session", error);
        manual_free(a->manual);
        a->manual = TAKE_PTR(mo);
        return reply_done(m);
}

/* StartManual's keys in Adjust: the running manual session's choices changed, and the session goes on with
 * them from where it is. */
static int adjust_manual(struct api *a, sd_bus_message *m, struct manual **ret, sd_bus_error *error)
{
        _cleanup_(manual_freep) struct manual *mo = NULL;
        struct program *p = NULL;
        char why[512] = "";
        usec_t duration = 0;
        int r;

        if (!a->manual || !daemon_program(a->d) || !streq(daemon_program(a->d)->id, PROGRAM_MANUAL_ID))
                return sd_bus_error_set(
                        error, E_NOT_RUNNING,
                        "roller, airbags, heat, recline and duration change a manual session, "
                        "and none is running");
        r = manual_copy(a->manual, &mo);
        if (r >= 0)
                r = sd_bus_message_rewind(m, true);
        if (r < 0)
                return r;
        r = manual_read(mo, m, true, why, sizeof(why));
        if (r < 0)
                return options_error(r, why, error);
        if (!manual_has_work(mo))
                return sd_bus_error_set(error, E_INVALID_ARGUMENT,
                                        "A manual session needs something to do: roller, airbags, heat or "
                                        "foot-rollers");
        if (manual_duration(mo) != manual_duration(a->manual)) {
                r = manual_duration_check(a, manual_duration(mo), &duration, error);
                if (r < 0)
                        return r;
                if (duration <= daemon_elapsed(a->d))
                        return sd_bus_error_setf(error, E_INVALID_ARGUMENT,
                                                 "duration: the session has run %llu us already",
                                                 (unsigned long long) daemon_elapsed(a->d));
        }
        r = manual_build(a, mo, duration ?: daemon_duration(a->d), &p, error);
        if (r < 0)
                return r;
        r = daemon_change_manual(a->d, p, duration);
        if (r < 0)
                return session_error(a, r, "Cannot change the manual session", error);
        *ret = TAKE_PTR(mo);
        return 0;
}

static int method_adjust(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        struct engine_adjust ch;
        const struct engine_adjust none = ENGINE_ADJUST_NONE;
        bool reset, manual_keys;
        char why[256];
        int r;

        r = manual_read_adjust(m, daemon_config(a->d), &ch, &reset, &manual_keys, why, sizeof(why));
        if (r < 0)
                return options_error(r, why, error);
        r = check_control(a, m, true, error);
        if (r < 0)
                return r;
        if (!daemon_program(a->d))
                return sd_bus_error_set(error, E_NOT_RUNNING, "No program is running");
        /* The change that can still be refused first, so that a refused call changes nothing. */
        if (manual_keys) {
                struct manual *changed = NULL;
                r = adjust_manual(a, m, &changed, error);
                if (r < 0)
                        return r;
                manual_free(a->manual);
                a->manual = changed;
        }
        if (reset && (r = daemon_adjust(a->d, NULL)) < 0)
                return session_error(a, r, "Cannot adjust", error);
        if (memcmp(&ch, &none, sizeof(ch)) != 0 && (r = daemon_adjust(a->d, &ch)) < 0)
                return session_error(a, r, "Cannot adjust", error);
        return reply_done(m);
}

static int method_adjust_shoulders(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        const struct roller_geometry *g = &daemon_config(a->d)->roller.geometry;
        int32_t offset;
        int r;

        r = sd_bus_message_read(m, "i", &offset);
        if (r < 0)
                return r;
        if (!daemon_config(a->d)->has_roller)
                return sd_bus_error_set(error, E_NOT_SUPPORTED, "This chair has no massage roller");
        r = check_control(a, m, true, error);
        if (r < 0)
                return r;
        r = daemon_adjust_shoulders(a->d, offset);
        if (r == -ERANGE)
                return sd_bus_error_setf(
                        error, E_INVALID_ARGUMENT,
                        "The shoulders at %u mm moved by %+d mm would leave the shoulder range "
                        "(%.0f to %.0f mm)",
                        daemon_shoulders(a->d), (int) offset, g->shoulder_min_mm, g->shoulder_max_mm);
        if (r < 0)
                return session_error(a, r, "Cannot move the shoulders", error);
        return reply_done(m);
}

static int method_stop(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;

        /* Stopping is always safe: open to every user, locked or not, faulted or not. */
        daemon_stop(a->d);
        return reply_done(m);
}

static int method_pause_resume(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        bool pause = streq(sd_bus_message_get_member(m), "Pause");
        /* Pausing stops things, but it is no emergency: it needs control rights like resuming. */
        int r = check_control(a, m, true, error);

        if (r < 0)
                return r;
        r = pause ? daemon_pause(a->d) : daemon_resume(a->d);
        if (interlock_error(a, r, error) < 0)
                return -EINVAL;
        if (r == -ENOENT)
                return sd_bus_error_set(error, E_NOT_RUNNING, "No program is running");
        if (r == -EALREADY)
                return sd_bus_error_set(error, E_NOT_RUNNING,
                                        pause ? "The program is paused already"
                                              : "The program is not paused");
        return reply_done(m);
}

static int method_emergency_stop(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;

        daemon_emergency_stop(a->d, "EmergencyStop() was called");
        return reply_done(m);
}

static int method_release(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;

        daemon_release(a->d);
        return reply_done(m);
}

/* The answer to a ResetFault, once the core has read the inputs its fault depends on. */
static void on_reset_done(int r, const char *why, void *userdata)
{
        sd_bus_message *m = userdata;

        if (r == 0)
                r = reply_done(m);
        else if (r == -EBUSY)
                r = sd_bus_reply_method_errorf(m, E_INTERLOCKED, "The fault cannot be reset: %s", why);
        else
                r = sd_bus_reply_method_errorf(m, E_FAILED, "The fault cannot be reset: %s", why);
        if (r < 0)
                log_debug("Cannot answer ResetFault: %s", strerror(-r));
        sd_bus_message_unref(m);
}

static int method_reset_fault(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        int r = check_control(a, m, true, error);

        if (r < 0)
                return r;
        daemon_reset_fault(a->d, on_reset_done, sd_bus_message_ref(m));
        return 1; /* answered by on_reset_done */
}

static int method_recline(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        const char *preset;
        int r;

        r = sd_bus_message_read(m, "s", &preset);
        if (r < 0)
                return r;
        if (!preset[0])
                return sd_bus_error_set(error, E_INVALID_ARGUMENT, "The preset is empty");
        r = check_control(a, m, true, error);
        if (r < 0)
                return r;
        r = daemon_recline(a->d, preset);
        if (interlock_error(a, r, error) < 0)
                return -EINVAL;
        if (r == -EOPNOTSUPP)
                return sd_bus_error_set(error, E_NOT_SUPPORTED, "This chair has no recline");
        if (r == -ENOENT)
                return sd_bus_error_setf(
                        error, E_NO_SUCH_PRESET,
                        "No recline preset '%.64s', nor a saved position of that name in the "
                        "selected profile",
                        preset);
        if (r < 0)
                return sd_bus_error_setf(error, E_FAILED, "Cannot recline: %s", strerror(-r));
        return reply_done(m);
}

static int method_jog(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        const char *name;
        int32_t direction;
        int axis, r;

        r = sd_bus_message_read(m, "si", &name, &direction);
        if (r < 0)
                return r;
        axis = axis_from_string(name);
        if (axis < 0) {
                char known[64];
                return sd_bus_error_setf(error, E_NO_SUCH_AXIS, "No axis '%.64s' (axes: %s)", name,
                                         strv_join(known, sizeof(known), axis_names, ", "));
        }
        if (direction != 1 && direction != -1)
                return sd_bus_error_setf(
                        error, E_INVALID_ARGUMENT,
                        "Direction %d: 1 moves towards reclined/extended, -1 towards upright",
                        (int) direction);
        r = check_control(a, m, true, error);
        if (r < 0)
                return r;
        r = daemon_jog(a->d, axis, direction);
        if (interlock_error(a, r, error) < 0)
                return -EINVAL;
        if (r == -EOPNOTSUPP)
                return sd_bus_error_setf(error, E_NO_SUCH_AXIS, "This chair has no %s axis", name);
        if (r < 0)
                return sd_bus_error_setf(error, E_FAILED, "Cannot jog: %s", strerror(-r));
        return reply_done(m);
}

static int method_set_intensity(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        uint32_t intensity;
        int r;

        r = sd_bus_message_read(m, "u", &intensity);
        if (r < 0)
                return r;
        if (intensity < INTENSITY_MIN || intensity > INTENSITY_MAX)
                return sd_bus_error_setf(error, E_INVALID_ARGUMENT,
                                         "Intensity %u is out of range (%d to %d)", intensity, INTENSITY_MIN,
                                         INTENSITY_MAX);
        r = check_control(a, m, true, error);
        if (r < 0)
                return r;
        r = daemon_set_intensity(a->d, intensity);
        if (interlock_error(a, r, error) < 0)
                return -EINVAL;
        if (r < 0)
                return sd_bus_error_setf(error, E_FAILED, "Cannot set the intensity: %s", strerror(-r));
        return reply_done(m);
}

static int method_set_heat(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        const struct chair_config *config = daemon_config(a->d);
        const char *zone;
        uint32_t level;
        size_t h = 0;
        int r;

        r = sd_bus_message_read(m, "su", &zone, &level);
        if (r < 0)
                return r;
        if (!zone[0])
                return sd_bus_error_set(error, E_INVALID_ARGUMENT, "The heat zone is empty");
        if (config->n_heaters == 0)
                return sd_bus_error_set(error, E_NOT_SUPPORTED, "This chair has no heat");
        while (h < config->n_heaters && !streq(config->heaters[h].zone, zone))
                h++;
        if (h == config->n_heaters)
                return sd_bus_error_setf(error, E_NO_SUCH_ZONE, "No heat zone '%.64s'", zone);
        if (level > HEAT_LEVELS)
                return sd_bus_error_setf(error, E_INVALID_ARGUMENT,
                                         "Heat level %u is out of range (0 to %d)", level, HEAT_LEVELS);
        /* Turning heat off is stopping: allowed to all. */
        r = level == 0 ? 0 : check_control(a, m, true, error);
        if (r < 0)
                return r;
        r = daemon_set_heat(a->d, h, level);
        if (interlock_error(a, r, error) < 0)
                return -EINVAL;
        if (r < 0)
                return sd_bus_error_setf(error, E_FAILED, "Cannot set the heat: %s", strerror(-r));
        return reply_done(m);
}
static int reply_diagnostics(sd_bus_message *m, const struct diag_list *diags)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(uuss)");
        for (size_t i = 0; r >= 0 && i < diags->n; i++)
                r = sd_bus_message_append(reply, "(uuss)", diags->items[i].line, diags->items[i].column,
                                          severity_to_string(diags->items[i].severity),
                                          diags->items[i].message);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* Checks a program's text as chaird would load it; the diagnostics are sorted. */
static int check_program_text(struct api *a, const char *text, struct diag_list *diags, struct program **ret)
{
        struct pattern_library lib = {};
        int r;

        r = catalog_load_library(daemon_options(a->d)->program_dirs, &lib, diags);
        if (r == -ENOMEM)
                return r;
        /* A program sent over the bus has no file name; "program.yaml" stands in for it. */
        r = program_load("program.yaml", text, strlen(text), daemon_config(a->d), &lib, diags, ret);
        pattern_library_clear(&lib);
        diag_sort(diags);
        return r;
}

static int check_text_size(const char *text, sd_bus_error *error)
{
        size_t n = strlen(text);

        if (n == 0)
                return sd_bus_error_set(error, E_INVALID_ARGUMENT, "The program text is empty");
        if (n > CHAIRD_PROGRAM_TEXT_MAX)
                return sd_bus_error_setf(error, E_INVALID_ARGUMENT,
                                         "The program text is %zu bytes; at most %d", n,
                                         CHAIRD_PROGRAM_TEXT_MAX);
        return 0;
}

static int method_validate_program(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        _cleanup_(program_freep) struct program *p = NULL;
        struct diag_list diags = {};
        const char *text;
        int r;

        r = sd_bus_message_read(m, "s", &text);
        if (r < 0)
                return r;
        r = check_text_size(text, error);
        if (r < 0)
                return r;
        r = check_program_text(a, text, &diags, &p);
        if (r != -ENOMEM)
                r = reply_diagnostics(m, &diags);
        diag_list_clear(&diags);
        return r;
}

/* The history, newest first: max records at most (0: all of them). Open to everyone: it is a read. */
static int method_history(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        const struct history *h = daemon_history(a->d);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        uint32_t max;
        int r;

        r = sd_bus_message_read(m, "u", &max);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "a{sv}");
        for (size_t i = 0; r >= 0 && i < history_count(h) && (max == 0 || i < max); i++) {
                const struct history_record *rec = history_get(h, i);
                r = sd_bus_message_append(reply, "a{sv}", 6, "start", "t", rec->start_usec, "duration", "t",
                                          rec->duration_usec, "program", "s", rec->program, "profile", "s",
                                          rec->profile, "reason", "s", rec->reason, "fault", "s",
                                          rec->fault);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r < 0 ? r : sd_bus_send(NULL, reply, NULL);
}

/* --- profiles --- */

static int profile_name_error(const char *name, sd_bus_error *error)
{
        return sd_bus_error_setf(
                error, E_INVALID_ARGUMENT,
                "'%.64s%s' is not a profile name (1-64 of a-z, 0-9 and '-', not starting with "
                "'-')",
                name, strlen(name) > 64 ? "..." : "");
}

static int no_profile(const char *name, sd_bus_error *error)
{
        return sd_bus_error_setf(error, E_NO_SUCH_PROFILE, "No profile '%s'", name);
}

/* A profile's settings as SaveProfile takes them and GetProfile gives them. */
struct profile_reading {
        struct api *a;
        const char *missing; /* the error of a read callback's -ENOENT */
};

static int read_favourites(sd_bus_message *m, const struct bus_option *o, void *dest, void *userdata,
                           char *why, size_t size)
{
        struct profile *p = dest;
        struct profile_reading *rd = userdata;
        const char *s;
        int r;

        p->n_favourites = 0;
        r = sd_bus_message_enter_container(m, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'a', "s");
        while (r >= 0 && (r = sd_bus_message_read(m, "s", &s)) > 0) {
                if (!program_id_is_valid(s))
                        return snprintf(why, size, "favourites: '%.64s' is not a program id", s), -EINVAL;
                if (!catalog_find(daemon_catalog(rd->a->d), s)) {
                        rd->missing = E_NO_SUCH_PROGRAM;
                        return snprintf(why, size, "favourites: no program '%s'", s), -ENOENT;
                }
                for (size_t i = 0; i < p->n_favourites; i++)
                        if (streq(p->favourites[i], s))
                                return snprintf(why, size, "favourites: %s given twice", s), -EINVAL;
                if (p->n_favourites == PROFILE_FAVOURITES_MAX)
                        return snprintf(why, size, "favourites: more than %d", PROFILE_FAVOURITES_MAX),
                               -EINVAL;
                strcpy(p->favourites[p->n_favourites++], s);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        return r < 0 ? r : sd_bus_message_exit_container(m);
}

static int append_favourites(sd_bus_message *m, const struct bus_option *o, const void *src, void *userdata)
{
        const struct profile *p = src;
        int r = sd_bus_message_open_container(m, 'a', "s");

        for (size_t i = 0; r >= 0 && i < p->n_favourites; i++)
                r = sd_bus_message_append(m, "s", p->favourites[i]);
        return r < 0 ? r : sd_bus_message_close_container(m);
}

/* One zone's level of a profile's heat, checked against the chair. */
static int check_heat_zone(struct profile_reading *rd, const struct profile *p, const char *zone,
                           uint32_t level, char *why, size_t size)
{
        const struct chair_config *c = daemon_config(rd->a->d);
        bool known = false;

        for (size_t h = 0; h < c->n_heaters; h++)
                known = known || streq(c->heaters[h].zone, zone);
        if (!known) {
                rd->missing = E_NO_SUCH_ZONE;
                return snprintf(why, size, "heat: no heat zone '%.64s'", zone), -ENOENT;
        }
        if (!profile_zone_is_valid(zone))
                snprintf(why, size,
                         "heat: a profile keeps zones named in one word of at most %d characters, not "
                         "'%.64s'",
                         PROFILE_NAME_MAX, zone);
        else if (level > HEAT_LEVELS)
                snprintf(why, size, "heat: %s level %u is out of range (0 to %d)", zone, level, HEAT_LEVELS);
        else if (p->n_heat == PROFILE_HEAT_MAX)
                snprintf(why, size, "heat: more than %d zones", PROFILE_HEAT_MAX);
        else
                for (size_t i = 0; i < p->n_heat; i++)
                        if (streq(p->heat[i].zone, zone))
                                return snprintf(why, size, "heat: %s given twice", zone), -EINVAL;
        return why[0] ? -EINVAL : 0;
}

static int read_heat(sd_bus_message *m, const struct bus_option *o, void *dest, void *userdata, char *why,
                     size_t size)
{
        struct profile *p = dest;
        const char *zone;
        uint32_t level;
        int r;

        p->n_heat = 0;
        p->has_heat = true;
        r = sd_bus_message_enter_container(m, 'v', "a{su}");
        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'a', "{su}");
        while (r >= 0 && (r = sd_bus_message_read(m, "{su}", &zone, &level)) > 0) {
                r = check_heat_zone(userdata, p, zone, level, why, size);
                if (r < 0)
                        return r;
                snprintf(p->heat[p->n_heat].zone, sizeof(p->heat[0].zone), "%s", zone);
                p->heat[p->n_heat++].level = level;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        return r < 0 ? r : sd_bus_message_exit_container(m);
}

static int append_heat(sd_bus_message *m, const struct bus_option *o, const void *src, void *userdata)
{
        const struct profile *p = src;
        int r = sd_bus_message_open_container(m, 'a', "{su}");

        for (size_t i = 0; r >= 0 && i < p->n_heat; i++)
                r = sd_bus_message_append(m, "{su}", p->heat[i].zone, p->heat[i].level);
        return r < 0 ? r : sd_bus_message_close_container(m);
}

static int read_program(sd_bus_message *m, const struct bus_option *o, void *dest, void *userdata, char *why,
                        size_t size)
{
        struct profile *p = dest;
        struct profile_reading *rd = userdata;
        const char *s;
        int r = sd_bus_message_read(m, "v", "s", &s);

        if (r < 0)
                return r;
        if (s[0] && !program_id_is_valid(s))
                return snprintf(why, size, "program: '%.64s' is not a program id", s), -EINVAL;
        if (s[0] && !catalog_find(daemon_catalog(rd->a->d), s)) {
                rd->missing = E_NO_SUCH_PROGRAM;
                return snprintf(why, size, "program: no program '%s'", s), -ENOENT;
        }
        snprintf(p->program, sizeof(p->program), "%s", s);
        return 0;
}

static int append_program(sd_bus_message *m, const struct bus_option *o, const void *src, void *userdata)
{
        return sd_bus_message_append(m, "s", ((const struct profile *) src)->program);
}

#define PROFILE_OPTIONS                5 /* the rows of profile_options() */
#define PROFILE_OPTION_SHOULDER_OFFSET 2

/* The settings of a profile on this chair, in GetProfile's order. */
static void profile_options(struct api *a, struct bus_option ret[PROFILE_OPTIONS])
{
        const struct chair_config *c = daemon_config(a->d);
        int offset_max = profile_shoulder_offset_max(c);

        ret[0] =
                (struct bus_option){"intensity", "u", offsetof(struct profile, intensity), 0, INTENSITY_MAX};
        ret[1] = (struct bus_option){"program", "s", .read = read_program, .append = append_program};
        ret[PROFILE_OPTION_SHOULDER_OFFSET] =
                (struct bus_option){"shoulder-offset",
                                    "i",
                                    offsetof(struct profile, shoulder_offset_mm),
                                    -offset_max,
                                    offset_max,
                                    "mm, the chair's shoulder range",
                                    c->has_roller ? NULL : "this chair has no roller"};
        ret[3] = (struct bus_option){"favourites", "as", .read = read_favourites,
                                     .append = append_favourites};
        ret[4] = (struct bus_option){"heat", "a{su}",
                                     .unsupported = c->n_heaters ? NULL : "this chair has no heat",
                                     .read = read_heat, .append = append_heat};
}

/* SaveProfile's settings, merged into p. */
static int read_profile_settings(struct api *a, sd_bus_message *m, struct profile *p, sd_bus_error *error)
{
        struct bus_option options[PROFILE_OPTIONS];
        struct profile_reading rd = {a, E_INVALID_ARGUMENT};
        uint64_t given;
        char why[256];
        int r;

        profile_options(a, options);
        r = bus_dict_read(m, options, PROFILE_OPTIONS, p, &rd, NULL, &given, why, sizeof(why));
        if (r == -ENOENT && why[0])
                return sd_bus_error_set(error, rd.missing, why);
        if (r < 0)
                return options_error(r, why, error);
        if (given & (UINT64_C(1) << PROFILE_OPTION_SHOULDER_OFFSET))
                p->has_shoulder_offset = true;
        return 0;
}

static int method_save_profile(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        const struct profile *old;
        struct profile p = {};
        const char *name;
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        if (!profile_name_is_valid(name))
                return profile_name_error(name, error);
        old = profiles_find(daemon_profiles(a->d), name);
        if (old)
                p = *old; /* the keys not given are kept */
        else
                strcpy(p.name, name);
        r = read_profile_settings(a, m, &p, error);
        if (r < 0)
                return r;
        r = check_control(a, m, true, error);
        if (r < 0)
                return r;
        r = daemon_save_profile(a->d, &p);
        if (r == -E2BIG)
                return sd_bus_error_setf(
                        error, E_LIMIT_REACHED,
                        "The chair keeps at most %u profiles (sessions.profiles); delete one first",
                        daemon_config(a->d)->sessions.profiles_max);
        if (r < 0)
                return not_saved_error(error, name, r, daemon_profiles_dir(a->d));
        return reply_when_saved(a, m, name, error);
}

/* A profile's settings and saved positions; open to everyone: it is a read. */
static int method_get_profile(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        struct bus_option options[PROFILE_OPTIONS];
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const struct profile *p;
        const char *name;
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        if (!profile_name_is_valid(name))
                return profile_name_error(name, error);
        p = profiles_find(daemon_profiles(a->d), name);
        if (!p)
                return no_profile(name, error);
        profile_options(a, options);
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0)
                r = bus_dict_append(reply, options, PROFILE_OPTIONS, p, NULL);
        if (r >= 0)
                r = bus_dict_open_array(reply, "positions", "a{sa{sd}}");
        for (size_t i = 0; r >= 0 && i < p->n_positions; i++) {
                const struct profile_position *pos = &p->positions[i];
                r = sd_bus_message_open_container(reply, 'e', "sa{sd}");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "s", pos->name);
                if (r >= 0)
                        r = sd_bus_message_open_container(reply, 'a', "{sd}");
                for (int x = 0; r >= 0 && x < _AXIS_MAX; x++)
                        if (pos->has[x])
                                r = sd_bus_message_append(reply, "{sd}", axis_to_string(x), pos->axis[x]);
                for (int k = 0; k < 2 && r >= 0; k++)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = bus_dict_close_array(reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r < 0 ? r : sd_bus_send(NULL, reply, NULL);
}

/* SelectProfile, DeleteProfile, SavePosition and DeletePosition: a name each. */
static int method_profile_name(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        const char *member = sd_bus_message_get_member(m), *name;
        bool select = streq(member, "SelectProfile"), position = strstr(member, "Position");
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        if (!(select && !name[0]) && !profile_name_is_valid(name))
                return position ? sd_bus_error_setf(
                                          error, E_INVALID_ARGUMENT,
                                          "'%.64s' is not a position name (1-64 of a-z, 0-9 and '-')", name)
                                : profile_name_error(name, error);
        r = check_control(a, m, true, error);
        if (r < 0)
                return r;
        if (streq(member, "SavePosition") && chair_config_find_preset(daemon_config(a->d), name))
                return sd_bus_error_setf(
                        error, E_INVALID_ARGUMENT,
                        "%s is a recline preset of the chair: give the position another name", name);
        r = select                           ? daemon_select_profile(a->d, name)
            : streq(member, "DeleteProfile") ? daemon_delete_profile(a->d, name)
            : streq(member, "SavePosition")  ? daemon_save_position(a->d, name)
                                             : daemon_delete_position(a->d, name);
        if (r == -ENOENT && !position)
                return no_profile(name, error);
        if (r == -ENOENT && !daemon_profile(a->d))
                return sd_bus_error_set(
                        error, E_NO_SUCH_PROFILE,
                        "No profile is selected: SelectProfile first (positions are a profile's)");
        if (r == -ENOENT)
                return sd_bus_error_setf(error, E_NO_SUCH_PRESET, "Profile %s has no saved position '%s'",
                                         daemon_profile(a->d)->name, name);
        if (r == -EOPNOTSUPP)
                return sd_bus_error_set(error, E_NOT_SUPPORTED, "This chair has no recline");
        if (r == -EAGAIN)
                return sd_bus_error_set(
                        error, E_FAILED,
                        "Where the recline is is not known yet (it homes first): try again once it "
                        "stands");
        if (r == -E2BIG)
                return sd_bus_error_setf(error, E_LIMIT_REACHED, "A profile keeps at most %d positions",
                                         PROFILE_POSITIONS_MAX);
        if (r < 0 && !select)
                return not_saved_error(error, position ? daemon_profile(a->d)->name : name, r,
                                       daemon_profiles_dir(a->d));
        if (r < 0)
                return sd_bus_error_setf(error, E_FAILED, "%s %s: %s", member, name, strerror(-r));
        if (select)
                return reply_done(m);
        return reply_when_saved(a, m, position ? daemon_profile(a->d)->name : name, error);
}

/* The first error of a list, as "line:col: message", for an error reply. */
static int set_program_error(sd_bus_error *error, const struct diag_list *diags, const char *what)
{
        for (size_t i = 0; i < diags->n; i++)
                if (diags->items[i].severity == SEVERITY_ERROR)
                        return sd_bus_error_setf(error, E_INVALID_PROGRAM, "%s: %s:%u:%u: %s%s", what,
                                                 diags->items[i].file, diags->items[i].line,
                                                 diags->items[i].column, diags->items[i].message,
                                                 diags->n_errors > 1 ? " (and more errors)" : "");
        return sd_bus_error_setf(error, E_INVALID_PROGRAM, "%s", what);
}

/* An InstallProgram whose file is being written: the call is answered once the file is on the disk. */
struct install {
        struct api *a;
        sd_bus_message *call;
        char *id;
        struct writer *writer;
};

static struct install *install_free(struct install *in)
{
        if (in) {
                writer_free(in->writer);
                sd_bus_message_unref(in->call);
                free(in->id);
                free(in);
        }
        return NULL;
}

/* Why the file at path is left out of the programs, or NULL. */
static const char *broken_why(struct api *a, const char *path)
{
        const struct catalog *c = daemon_catalog(a->d);

        for (size_t i = 0; c && i < c->n_broken; i++)
                if (streq(c->broken[i].path, path))
                        return c->broken[i].message;
        return NULL;
}

static void on_program_written(struct writer *w, int result, void *userdata)
{
        struct install *in = userdata;
        struct api *a = in->a;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        struct diag_list diags = {};
        int r = result;

        if (r < 0)
                sd_bus_error_setf(&error, E_FAILED, "Cannot write %s: %s", writer_path(w), strerror(-r));
        else {
                log_fields(LOG_INFO, 0, in->id, NULL, NULL, "Program %s installed as %s", in->id,
                           writer_path(w));
                r = daemon_reload_programs(a->d, &diags);
                /* Another broken file is no failure of this install; this one broken (an id that is
                 * taken in its folder) is. */
                const char *why = r == -EINVAL ? broken_why(a, writer_path(w)) : NULL;
                if (why)
                        sd_bus_error_setf(&error, E_INVALID_PROGRAM, "Installed, but left out: %s", why);
                else if (r < 0 && r != -EINVAL)
                        sd_bus_error_set_errno(&error, r);
                diag_list_clear(&diags);
        }
        r = sd_bus_error_is_set(&error) ? sd_bus_reply_method_error(in->call, &error) : reply_done(in->call);
        if (r < 0)
                log_debug("Cannot answer InstallProgram: %s", strerror(-r));
        a->install = install_free(in);
}

/* Validated on the loop; the file is written on a thread (writer.c), so that a slow disk does not hold up
 * the control tick or the board's heartbeat while the chair runs. One install at a time. */
static int method_install_program(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        _cleanup_(program_freep) struct program *p = NULL;
        _cleanup_(closep) int dir_fd = -1;
        _cleanup_free_ char *name = NULL;
        struct diag_list diags = {};
        const char *text, *dir;
        struct install *in;
        int r;

        r = sd_bus_message_read(m, "s", &text);
        if (r < 0)
                return r;
        r = check_text_size(text, error);
        if (r < 0)
                return r;
        r = check_control(a, m, true, error);
        if (r < 0)
                return r;
        if (a->install)
                return sd_bus_error_setf(error, E_BUSY,
                                         "Program %s is being installed; try again when it is done",
                                         a->install->id);
        r = check_program_text(a, text, &diags, &p);
        if (r == -EINVAL)
                r = set_program_error(error, &diags, "The program is not valid");
        else if (r == 0 && p->id_from_file)
                r = sd_bus_error_set(error, E_INVALID_PROGRAM, "The program needs an id: to be installed");
        diag_list_clear(&diags);
        if (r < 0)
                return r;

        dir = daemon_options(a->d)->program_dirs[strv_length(daemon_options(a->d)->program_dirs) - 1];
        if (asprintf(&name, "%s.yaml", p->id) < 0) {
                name = NULL; /* undefined after a failed asprintf */
                return -ENOMEM;
        }
        /* The installer's folder (made if missing), written through its fd: a link in the program's place
         * is replaced, never followed. */
        dir_fd = dir_open_at(AT_FDCWD, dir, true);
        if (dir_fd < 0)
                return sd_bus_error_setf(error, E_FAILED, "Cannot write in %s: %s", dir,
                                         file_error_words(dir_fd));
        in = calloc(1, sizeof(*in));
        if (!in)
                return -ENOMEM;
        *in = (struct install){.a = a, .call = sd_bus_message_ref(m), .id = strdup(p->id)};
        r = in->id ? writer_start(daemon_event(a->d), dir_fd, dir, name, text, strlen(text), 0644,
                                  on_program_written, in, &in->writer)
                   : -ENOMEM;
        if (r < 0) {
                install_free(in);
                return sd_bus_error_setf(error, E_FAILED, "Cannot write %s/%s: %s", dir, name, strerror(-r));
        }
        a->install = in;
        return 1; /* answered when the file is written */
}

static int method_reload_programs(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        struct diag_list diags = {};
        int r = check_control(a, m, true, error);

        if (r < 0)
                return r;
        r = daemon_reload_programs(a->d, &diags);
        if (r == -EINVAL)
                r = set_program_error(
                        error, &diags,
                        "Reloaded, but a file is broken and left out (BrokenPrograms lists each)");
        diag_list_clear(&diags);
        if (r < 0)
                return r;
        return reply_done(m);
}

/* Properties. */

static int property_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        return sd_bus_message_append(reply, "s", daemon_state(a->d));
}

static int property_program(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        const struct program *p = daemon_program(a->d);
        return sd_bus_message_append(reply, "s", p ? p->id : "");
}

static int property_phase(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        return sd_bus_message_append(reply, "s", daemon_phase(a->d) ?: "");
}

static int property_elapsed(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        return sd_bus_message_append(reply, "t", (uint64_t) daemon_elapsed(a->d));
}

static int property_duration(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        return sd_bus_message_append(reply, "t", (uint64_t) daemon_duration(a->d));
}

static int property_intensity(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        return sd_bus_message_append(reply, "u", daemon_intensity(a->d));
}

static int property_capabilities(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        return frontend_append_capabilities(reply, daemon_config(a->d));
}

static int property_session(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        return frontend_append_session(reply, a->d);
}

static int property_heat(sd_bus *bus, const char *path, const char *interface, const char *property,
                         sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        int r = sd_bus_message_open_container(reply, 'a', "{su}");

        for (size_t h = 0; r >= 0 && h < daemon_config(a->d)->n_heaters; h++)
                r = sd_bus_message_append(reply, "{su}", daemon_config(a->d)->heaters[h].zone,
                                          chair_heat_level(daemon_chair(a->d), h));
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_temperatures(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        int r = sd_bus_message_open_container(reply, 'a', "{sd}");

        for (size_t h = 0; r >= 0 && h < daemon_config(a->d)->n_heaters; h++) {
                double t;
                if (chair_temperature(daemon_chair(a->d), h, &t)) /* a zone not read yet is left out */
                        r = sd_bus_message_append(reply, "{sd}", daemon_config(a->d)->heaters[h].zone, t);
        }
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_positions(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        int r = sd_bus_message_open_container(reply, 'a', "{sd}");

        for (unsigned i = 0; r >= 0 && i < CHAIR_MOTORS; i++) {
                double v;
                if (chair_position(daemon_chair(a->d), i, &v))
                        r = sd_bus_message_append(reply, "{sd}", chair_motor_name(i), v);
        }
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

/* The motors whose position is an estimate: timed by how long they were driven, or not homed since their
 * position was lost. */
static int property_positions_estimated(sd_bus *bus, const char *path, const char *interface,
                                        const char *property, sd_bus_message *reply, void *userdata,
                                        sd_bus_error *error)
{
        struct api *a = userdata;
        struct chair_motor_status st;
        int r = sd_bus_message_open_container(reply, 'a', "s");

        for (unsigned i = 0; r >= 0 && i < CHAIR_MOTORS; i++)
                if (chair_motor_status(daemon_chair(a->d), i, &st) && st.estimated)
                        r = sd_bus_message_append(reply, "s", chair_motor_name(i));
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_broken_programs(sd_bus *bus, const char *path, const char *interface,
                                    const char *property, sd_bus_message *reply, void *userdata,
                                    sd_bus_error *error)
{
        struct api *a = userdata;
        const struct catalog *c = daemon_catalog(a->d);
        int r = sd_bus_message_open_container(reply, 'a', "(ss)");

        for (size_t i = 0; r >= 0 && c && i < c->n_broken; i++)
                r = sd_bus_message_append(reply, "(ss)", c->broken[i].path, c->broken[i].message);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_presets(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        const struct chair_config *config = daemon_config(a->d);
        int r = sd_bus_message_open_container(reply, 'a', "s");

        for (size_t i = 0; r >= 0 && i < config->n_presets; i++)
                r = sd_bus_message_append(reply, "s", config->preset_names[i]);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_recline(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        return sd_bus_message_append(reply, "s", chair_recline_preset(daemon_chair(a->d)) ?: "");
}

static int property_fault(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        return sd_bus_message_append(reply, "s",
                                     streq(property, "Fault") ? fault_to_string(daemon_fault(a->d))
                                                              : daemon_fault_message(a->d));
}

static int property_shoulders(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        return sd_bus_message_append(reply, "u", daemon_shoulders(a->d));
}

/* Counters since install; read when wanted (they change every tick while the chair is busy, so no
 * signal). */
static int property_usage(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        const struct usage *u = daemon_usage(a->d);
        int r = sd_bus_message_open_container(reply, 'a', "{st}");

        for (size_t i = 0; r >= 0 && i < usage_count(u); i++)
                r = sd_bus_message_append(reply, "{st}", usage_name(u, i), usage_value(u, i));
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_profiles(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        const struct profiles *ps = daemon_profiles(a->d);
        const struct profile *p = daemon_profile(a->d);
        int r;

        if (streq(property, "Profile"))
                return sd_bus_message_append(reply, "s", p ? p->name : "");
        r = sd_bus_message_open_container(reply, 'a', "s");
        for (size_t i = 0; r >= 0 && i < profiles_count(ps); i++)
                r = sd_bus_message_append(reply, "s", profiles_get(ps, i)->name);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_locked(sd_bus *bus, const char *path, const char *interface, const char *property,
                           sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        return sd_bus_message_append(reply, "b", daemon_locked(a->d));
}

static int set_locked(sd_bus *bus, const char *path, const char *interface, const char *property,
                      sd_bus_message *value, void *userdata, sd_bus_error *error)
{
        struct api *a = userdata;
        int locked, r;

        r = sd_bus_message_read(value, "b", &locked);
        if (r < 0)
                return r;
        /* Whoever may control the chair may set and clear the lock; the lock does not lock itself. */
        r = check_control(a, value, false, error);
        if (r < 0)
                return r;
        daemon_set_locked(a->d, locked);
        return 0;
}

static const sd_bus_vtable chair_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("State", "s", property_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Program", "s", property_program, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Phase", "s", property_phase, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ElapsedUSec", "t", property_elapsed, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DurationUSec", "t", property_duration, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Intensity", "u", property_intensity, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Heat", "a{su}", property_heat, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Temperatures", "a{sd}", property_temperatures, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Positions", "a{sd}", property_positions, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PositionsEstimated", "as", property_positions_estimated, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("BrokenPrograms", "a(ss)", property_broken_programs, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Presets", "as", property_presets, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Capabilities", "a{sv}", property_capabilities, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Session", "a{sv}", property_session, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Recline", "s", property_recline, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Fault", "s", property_fault, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("FaultMessage", "s", property_fault, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Shoulders", "u", property_shoulders, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Usage", "a{st}", property_usage, 0, 0),
        SD_BUS_PROPERTY("Profiles", "as", property_profiles, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Profile", "s", property_profiles, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_WRITABLE_PROPERTY("Locked", "b", property_locked, set_locked, 0,
                                 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE | SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Start", SD_BUS_ARGS("s", program, "a{sv}", options), SD_BUS_NO_RESULT,
                                method_start, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("StartManual", SD_BUS_ARGS("a{sv}", options), SD_BUS_NO_RESULT,
                                method_start_manual, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Adjust", SD_BUS_ARGS("a{sv}", changes), SD_BUS_NO_RESULT, method_adjust,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AdjustShoulders", SD_BUS_ARGS("i", offset_mm), SD_BUS_NO_RESULT,
                                method_adjust_shoulders, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Stop", "", "", method_stop, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Pause", "", "", method_pause_resume, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Resume", "", "", method_pause_resume, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("EmergencyStop", "", "", method_emergency_stop, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Release", "", "", method_release, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("ResetFault", "", "", method_reset_fault, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Recline", SD_BUS_ARGS("s", preset), SD_BUS_NO_RESULT, method_recline,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Jog", SD_BUS_ARGS("s", axis, "i", direction), SD_BUS_NO_RESULT, method_jog,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetIntensity", SD_BUS_ARGS("u", intensity), SD_BUS_NO_RESULT,
                                method_set_intensity, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetHeat", SD_BUS_ARGS("s", zone, "u", level), SD_BUS_NO_RESULT,
                                method_set_heat, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ValidateProgram", SD_BUS_ARGS("s", yaml),
                                SD_BUS_RESULT("a(uuss)", diagnostics), method_validate_program,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("InstallProgram", SD_BUS_ARGS("s", yaml), SD_BUS_NO_RESULT,
                                method_install_program, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("ReloadPrograms", "", "", method_reload_programs, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("History", SD_BUS_ARGS("u", max), SD_BUS_RESULT("aa{sv}", records),
                                method_history, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SelectProfile", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT,
                                method_profile_name, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SaveProfile", SD_BUS_ARGS("s", name, "a{sv}", settings), SD_BUS_NO_RESULT,
                                method_save_profile, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetProfile", SD_BUS_ARGS("s", name), SD_BUS_RESULT("a{sv}", settings),
                                method_get_profile, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DeleteProfile", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT,
                                method_profile_name, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SavePosition", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT,
                                method_profile_name, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DeletePosition", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT,
                                method_profile_name, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("Finished", SD_BUS_ARGS("s", program, "s", reason), 0),
        SD_BUS_SIGNAL_WITH_ARGS("ProfileChanged", SD_BUS_ARGS("s", name), 0),
        SD_BUS_VTABLE_END,
};

/* Program objects. */

static int program_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const struct catalog_entry *e = userdata;
        const char *v = streq(property, "Id")     ? e->program->id
                        : streq(property, "Name") ? e->program->name
                        : streq(property, "Path") ? e->path
                                                  : e->program->description;
        return sd_bus_message_append(reply, "s", v ?: "");
}

static int program_duration(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const struct catalog_entry *e = userdata;
        return sd_bus_message_append(reply, "t", (uint64_t) e->program->duration_usec);
}

static const sd_bus_vtable program_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "s", program_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Name", "s", program_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Description", "s", program_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DurationUSec", "t", program_duration, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Path", "s", program_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_VTABLE_END,
};

static int program_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                        sd_bus_error *error)
{
        struct api *a = userdata;
        _cleanup_free_ char *id = NULL;
        struct catalog_entry *e;

        if (sd_bus_path_decode(path, CHAIRD_PROGRAM_PATH_PREFIX, &id) <= 0 ||
            !(e = catalog_find(daemon_catalog(a->d), id)))
                return 0;
        *found = e;
        return 1;
}

static int program_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                             sd_bus_error *error)
{
        struct api *a = userdata;
        _cleanup_(strv_freep) char **l = calloc(daemon_catalog(a->d)->n + 1, sizeof(char *));

        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < daemon_catalog(a->d)->n; i++) {
                int r = sd_bus_path_encode(CHAIRD_PROGRAM_PATH_PREFIX,
                                           daemon_catalog(a->d)->entries[i]->program->id, &l[i]);
                if (r < 0)
                        return r;
        }
        *nodes = TAKE_PTR(l);
        return 0;
}

static bool entry_differs(const struct catalog_entry *a, const struct catalog_entry *b)
{
        return !streq_ptr(a->program->name, b->program->name) ||
               !streq_ptr(a->program->description, b->program->description) ||
               a->program->duration_usec != b->program->duration_usec || !streq(a->path, b->path);
}

/* The programs were reloaded: each object that went, changed or came is announced. */
static void on_programs_changed(const struct catalog *old, const struct catalog *now, void *userdata)
{
        struct api *a = userdata;

        if (!a->bus)
                return;
        sd_bus_emit_properties_changed(a->bus, CHAIRD_OBJECT_PATH, CHAIRD_INTERFACE, "BrokenPrograms", NULL);
        if (!old)
                return;

        for (size_t i = 0; i < old->n; i++) {
                const char *id = old->entries[i]->program->id;
                _cleanup_free_ char *path = NULL;
                const struct catalog_entry *e = catalog_find(now, id);

                if (sd_bus_path_encode(CHAIRD_PROGRAM_PATH_PREFIX, id, &path) < 0)
                        continue;
                if (!e)
                        sd_bus_emit_interfaces_removed(a->bus, path, CHAIRD_PROGRAM_INTERFACE, NULL);
                else if (entry_differs(e, old->entries[i]))
                        sd_bus_emit_properties_changed(a->bus, path, CHAIRD_PROGRAM_INTERFACE, "Name",
                                                       "Description", "DurationUSec", "Path", NULL);
        }
        for (size_t i = 0; i < now->n; i++) {
                const char *id = now->entries[i]->program->id;
                _cleanup_free_ char *path = NULL;

                if (!catalog_find(old, id) && sd_bus_path_encode(CHAIRD_PROGRAM_PATH_PREFIX, id, &path) >= 0)
                        sd_bus_emit_interfaces_added(a->bus, path, CHAIRD_PROGRAM_INTERFACE, NULL);
        }
}

static void on_changed(unsigned props, void *userdata)
{
        static const struct {
                unsigned bit;
                const char *name;
        } names[] = {
                {PROP_STATE, "State"},
                {PROP_PROGRAM, "Program"},
                {PROP_PHASE, "Phase"},
                {PROP_ELAPSED, "ElapsedUSec"},
                {PROP_DURATION, "DurationUSec"},
                {PROP_INTENSITY, "Intensity"},
                {PROP_HEAT, "Heat"},
                {PROP_TEMPERATURES, "Temperatures"},
                {PROP_POSITIONS, "Positions"},
                {PROP_POSITIONS, "PositionsEstimated"},
                {PROP_RECLINE, "Recline"},
                {PROP_FAULT, "Fault"},
                {PROP_FAULT, "FaultMessage"},
                {PROP_LOCKED, "Locked"},
                {PROP_SHOULDERS, "Shoulders"},
                {PROP_PROFILES, "Profiles"},
                {PROP_PROFILES, "Profile"},
                {PROP_SESSION, "Session"},
        };
        struct api *a = userdata;
        const char *l[ELEMENTSOF(names) + 1];
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (props & names[i].bit)
                        l[n++] = names[i].name;
        l[n] = NULL;
        if (n > 0)
                sd_bus_emit_properties_changed_strv(a->bus, CHAIRD_OBJECT_PATH, CHAIRD_INTERFACE,
                                                    (char **) l);
}

static void on_finished(const char *program, enum finish_reason reason, void *userdata)
{
        struct api *a = userdata;

        if (streq(program, PROGRAM_MANUAL_ID))
                a->manual = manual_free(a->manual);
        sd_bus_emit_signal(a->bus, CHAIRD_OBJECT_PATH, CHAIRD_INTERFACE, "Finished", "ss", program,
                           finish_reason_to_string(reason));
}

/* sd-bus answers a call whose arguments do not match the method's signature with a generic error; the API
 * promises its own typed one, so such calls are answered here first. */
/* Properties.Set of a writable property with a value of another type: chaird's InvalidArgument, as for a
 * method, not sd-bus's generic InvalidArgs. */
static int check_set(sd_bus_message *m)
{
        const char *interface, *property, *contents = NULL;
        int r;

        r = sd_bus_message_read(m, "ss", &interface, &property);
        if (r >= 0 && streq(interface, CHAIRD_INTERFACE))
                r = sd_bus_message_peek_type(m, NULL, &contents);
        for (const sd_bus_vtable *v = chair_vtable; r >= 0 && contents && v->type != _SD_BUS_VTABLE_END; v++)
                if (v->type == _SD_BUS_VTABLE_WRITABLE_PROPERTY && streq(v->x.property.member, property) &&
                    !streq(v->x.property.signature, contents)) {
                        sd_bus_reply_method_errorf(m, E_INVALID_ARGUMENT, "%s takes (%s), not (%s)",
                                                   property, v->x.property.signature, contents);
                        return 1;
                }
        (void) sd_bus_message_rewind(m, true); /* for sd-bus's own handling */
        return 0;
}

static int check_signature(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        const char *member = sd_bus_message_get_member(m), *signature;

        if (sd_bus_message_is_method_call(m, "org.freedesktop.DBus.Properties", "Set") > 0 &&
            streq_ptr(sd_bus_message_get_path(m), CHAIRD_OBJECT_PATH) &&
            streq_ptr(sd_bus_message_get_signature(m, true), "ssv"))
                return check_set(m);

        if (sd_bus_message_is_method_call(m, CHAIRD_INTERFACE, NULL) <= 0 ||
            !streq_ptr(sd_bus_message_get_path(m), CHAIRD_OBJECT_PATH) || !member)
                return 0;
        signature = sd_bus_message_get_signature(m, true);
        for (const sd_bus_vtable *v = chair_vtable; v->type != _SD_BUS_VTABLE_END; v++) {
                if (v->type != _SD_BUS_VTABLE_METHOD || !streq(v->x.method.member, member))
                        continue;
                if (streq(v->x.method.signature, signature ?: ""))
                        return 0;
                sd_bus_reply_method_errorf(m, E_INVALID_ARGUMENT, "%s takes (%s), not (%s)", member,
                                           v->x.method.signature, signature ?: "");
                return 1;
        }
        return 0; /* unknown: sd-bus answers UnknownMethod */
}

int api_new(struct daemon *d, struct api **ret)
{
        _cleanup_(api_freep) struct api *a = calloc(1, sizeof(*a));
        int r;

        if (!a)
                return -ENOMEM;
        a->d = d;
        r = callers_new(daemon_options(d)->control_group, &a->callers);
        if (r < 0)
                return r;
        /* A connection of our own (honouring DBUS_SYSTEM_BUS_ADDRESS), not the shared default one. */
        r = sd_bus_open_system(&a->bus);
        if (r < 0)
                return log_error_errno(r, "Cannot connect to the system bus: %m");
        r = sd_bus_add_filter(a->bus, NULL, check_signature, a);
        if (r >= 0)
                r = sd_bus_add_object_vtable(a->bus, NULL, CHAIRD_OBJECT_PATH, CHAIRD_INTERFACE,
                                             chair_vtable, a);
        if (r >= 0)
                r = sd_bus_add_fallback_vtable(a->bus, NULL, CHAIRD_PROGRAM_PATH_PREFIX,
                                               CHAIRD_PROGRAM_INTERFACE, program_vtable, program_find, a);
        if (r >= 0)
                r = sd_bus_add_node_enumerator(a->bus, NULL, CHAIRD_PROGRAM_PATH_PREFIX, program_enumerate,
                                               a);
        if (r >= 0)
                r = sd_bus_add_object_manager(a->bus, NULL, CHAIRD_OBJECT_PATH);
        if (r < 0)
                return log_error_errno(r, "Cannot publish the objects: %m");
        /* At normal priority, below the control tick, the drivers' events, the engine and the watchdog: a
         * flood of calls waits for them, never the other way round. */
        r = sd_bus_attach_event(a->bus, daemon_event(d), SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Cannot attach the bus to the loop: %m");
        r = sd_bus_request_name(a->bus, CHAIRD_BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "Cannot own %s: %m", CHAIRD_BUS_NAME);
        daemon_set_observer(d, on_changed, on_finished, on_programs_changed, a);
        *ret = TAKE_PTR(a);
        return 0;
}

struct api *api_free(struct api *a)
{
        if (!a)
                return NULL;
        if (a->d)
                daemon_set_observer(a->d, NULL, NULL, NULL, NULL);
        /* An install still writing its file: waited for; its caller gets no answer (the bus is closing). */
        a->install = install_free(a->install);
        a->manual = manual_free(a->manual);
        /* Calls waiting for a profile's file: forgotten unanswered (the bus is closing). */
        while (a->savings) {
                daemon_profile_unwait(a->d, a->savings);
                saving_free(a->savings);
        }
        sd_bus_flush_close_unref(a->bus);
        callers_free(a->callers);
        free(a);
        return NULL;
}
