/* session.c: the records kept around the chair's sessions (history, usage, the session that runs, profiles,
 * saved positions, the marker of an active chair), fed by the core's hooks. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "files.h"
#include "log.h"
#include "marker.h"
#include "positions.h"
#include "session.h"
#include "writer.h"

#define USAGE_SAVE_INTERVAL_USEC (10 * USEC_PER_MINUTE)
/* While a session runs, its progress (SESSION_FILE) and the counters are saved this often: what a kill or a
 * power cut can lose of a session's record and of its counted time. */
#define SESSION_SAVE_INTERVAL_USEC (1 * USEC_PER_MINUTE)
#define SESSION_FILE               "session"
#define SESSION_FILE_MAX           1024
/* A session's record is among this many newest (faults come after). */
#define SESSION_RECORDED_WITHIN 16
static const char session_header[] =
        "# chaird session 1: the session that runs, as its history record would read\n";

struct session {
        int state_fd; /* borrowed from the core */
        const char *state_dir;
        const struct chair_config *config;
        struct chair *chair;
        struct engine *engine;
        double time_scale;
        usec_t tick_usec;

        /* The record of sessions and faults, and the usage counters. */
        struct history *history;
        struct usage *usage;
        /* The profiles, the one selected ("" for none) and the one the session under way started with. */
        struct profiles *profiles;
        char profile[PROFILE_NAME_MAX + 1];
        char session_profile[PROFILE_NAME_MAX + 1];
        bool in_session;                 /* a program or manual session runs (or is paused) */
        usec_t start_usec;               /* CLOCK_REALTIME */
        struct saved_file *session_file; /* the session that runs, for the record after a cut */
        usec_t usage_tick_usec; /* when the last tick counted usage (0: none since the tick started) */
        usec_t usage_saved_usec;
        bool fault_recorded; /* the latched fault is in the history */
        /* The relay-pair motors' positions: as last saved, and their file (written off the loop). */
        char positions[256];
        struct saved_file *positions_file;
        bool marked_active; /* the marker of an active chair is in the state directory */
};

/* --- usage and history --- */

/* A motor's run time, in its counter "NAME-usec". */
static void count_motor(struct session *s, unsigned motor, usec_t dt)
{
        char name[USAGE_NAME_MAX];

        snprintf(name, sizeof(name), "%s-usec", chair_motor_name(motor));
        usage_add(s->usage, name, dt);
}

/* Whatever ran since the last tick counts: a tick's time for each motor driven, heat on, program running.
 * The tick runs while the chair is busy, so the idle chair costs nothing. */
void session_on_tick(struct session *s, usec_t now)
{
        usec_t dt = s->usage_tick_usec && now > s->usage_tick_usec ? now - s->usage_tick_usec : 0;

        s->usage_tick_usec = now;
        dt = dt > 2 * s->tick_usec ? 2 * s->tick_usec : dt; /* a loop held up does not count as running */
        dt = (usec_t) llround((double) dt * s->time_scale); /* the simulator's time, as programs */
        if (engine_state(s->engine) == ENGINE_RUNNING)
                usage_add(s->usage, "massage-usec", dt);
        for (size_t i = 0; i < s->config->n_heaters; i++)
                if (chair_heat_level(s->chair, i) > 0) {
                        usage_add(s->usage, "heat-usec", dt);
                        break;
                }
        for (unsigned m = 0; m < CHAIR_MOTORS; m++) {
                struct chair_motor_status st;
                if (chair_motor_status(s->chair, m, &st) && st.driven)
                        count_motor(s, m, dt);
        }
        /* Now and then while busy, so that a cut loses little; else at the end of each session. A session's
         * progress goes with them, in step. */
        if (now - s->usage_saved_usec >=
            (s->in_session ? SESSION_SAVE_INTERVAL_USEC : USAGE_SAVE_INTERVAL_USEC)) {
                s->usage_saved_usec = now;
                usage_save(s->usage);
                if (s->in_session)
                        saved_file_save(s->session_file);
        }
}

/* The session that runs, as the record a kill or a power cut would leave of it: the next start adds it to
 * the history ("interrupted") and counts it. Only the header between sessions. */
static int session_text(void *userdata, char **ret_data, size_t *ret_size)
{
        struct session *s = userdata;
        const struct program *p = engine_program(s->engine);
        struct history_record r = {.start_usec = s->start_usec, .duration_usec = engine_elapsed(s->engine)};
        char line[512] = "";

        if (s->in_session && p) {
                snprintf(r.program, sizeof(r.program), "%s", p->id);
                snprintf(r.profile, sizeof(r.profile), "%s", s->session_profile);
                snprintf(r.reason, sizeof(r.reason), "%s", fault_to_string(FAULT_INTERRUPTED));
                snprintf(r.fault, sizeof(r.fault), "%s", fault_to_string(FAULT_INTERRUPTED));
                if (history_format_record(&r, line, sizeof(line)) < 0)
                        line[0] = '\0';
        }
        if (asprintf(ret_data, "%s%s", session_header, line) < 0)
                return -ENOMEM;
        *ret_size = strlen(*ret_data);
        return 0;
}

static void on_session_written(struct saved_file *f, int result, uint64_t generation, void *userdata)
{
        if (result < 0)
                log_warning_errno(result, "Cannot save the session's progress in %s: %m",
                                  saved_file_path(f));
}

/* After an unclean end: the session that was running, from its file, unless the history has it already.
 * Recorded and counted; whether one was. */
static bool recover_session(struct session *s)
{
        _cleanup_free_ char *text = NULL;
        struct history_record r;
        bool aside;
        int k = read_kept_file(s->state_fd, SESSION_FILE, SESSION_FILE_MAX, &text, &aside);

        if (k < 0) {
                if (k != -ENOENT && k != -EBADF)
                        log_warning("%s/" SESSION_FILE ": %s%s", s->state_dir, file_error_words(k),
                                    aside ? "; set aside as " SESSION_FILE ".broken" : "");
                return false;
        }
        if (strncmp(text, session_header, strlen(session_header)) != 0 ||
            history_parse_record(text + strlen(session_header), &r) < 0)
                return false; /* between sessions (or damaged: nothing to go by) */
        /* It ended and was recorded (the cut came after): its record is among the newest. Compared by start
         * and program, not by order: a board without a real-time clock may have started with its clock
         * behind. */
        for (size_t i = 0; i < history_count(s->history) && i < SESSION_RECORDED_WITHIN; i++) {
                const struct history_record *h = history_get(s->history, i);
                if (h->start_usec == r.start_usec && streq(h->program, r.program))
                        return false;
        }
        history_add(s->history, &r);
        usage_add(s->usage, "sessions", 1); /* its time was counted with the last save */
        usage_save(s->usage);
        saved_file_save(s->session_file); /* recorded: between sessions again */
        log_notice("The session of program %s, cut after %llu s, recorded as interrupted",
                   r.program[0] ? r.program : "-", (unsigned long long) (r.duration_usec / USEC_PER_SEC));
        return true;
}

static void record(struct session *s, usec_t start, usec_t duration, const char *program,
                   const char *profile, const char *reason, enum fault fault)
{
        struct history_record r = {.start_usec = start, .duration_usec = duration};

        snprintf(r.program, sizeof(r.program), "%s", program);
        snprintf(r.profile, sizeof(r.profile), "%s", profile);
        snprintf(r.reason, sizeof(r.reason), "%s", reason);
        snprintf(r.fault, sizeof(r.fault), "%s", fault ? fault_to_string(fault) : "");
        history_add(s->history, &r);
}

void session_on_program(struct session *s)
{
        if (s->in_session || !engine_program(s->engine))
                return;
        s->in_session = true;
        s->start_usec = now_realtime_usec();
        snprintf(s->session_profile, sizeof(s->session_profile), "%s", s->profile);
        saved_file_save(s->session_file);
}

void session_on_fault(struct session *s, enum fault fault)
{
        /* A fault outside a session has a record of its own; in one, the session's record names it. */
        if (s->in_session || s->fault_recorded)
                return;
        s->fault_recorded = true;
        record(s, now_realtime_usec(), 0, "", "", "fault", fault);
}

void session_on_reset(struct session *s)
{
        s->fault_recorded = false;
}

void session_on_finished(struct session *s, const char *program, enum finish_reason reason, enum fault fault)
{
        if (!s->in_session)
                return;
        s->in_session = false;
        s->fault_recorded = fault != FAULT_NONE;
        record(s, s->start_usec, engine_finished_elapsed(s->engine), program, s->session_profile,
               finish_reason_to_string(reason),
               reason == FINISH_FAULT || reason == FINISH_EMERGENCY_STOP ? fault : FAULT_NONE);
        saved_file_save(s->session_file); /* between sessions again */
        usage_add(s->usage, "sessions", 1);
        session_on_tick(s, now_usec());
        s->usage_saved_usec = now_usec();
        usage_save(s->usage);
}

/* --- saved positions and the marker --- */

static int positions_text(void *userdata, char **ret_data, size_t *ret_size)
{
        struct session *s = userdata;

        *ret_data = strdup(s->positions);
        *ret_size = strlen(s->positions);
        return *ret_data ? 0 : -ENOMEM;
}

static void on_positions_written(struct saved_file *f, int result, uint64_t generation, void *userdata)
{
        struct session *s = userdata;

        if (result < 0) {
                log_warning_errno(result, "Cannot save the motors' positions in %s: %m", saved_file_path(f));
                s->positions[0] = '\0'; /* written again with the next change */
        }
}

/* When a relay-pair motor stands still somewhere new, its position goes to the disk, off the loop: a slow
 * SD card must not hold up the control tick or the board's heartbeat. */
void session_on_motion(struct session *s)
{
        char text[sizeof(s->positions)];

        if (positions_format(s->chair, text, sizeof(text)) < 0 || streq(text, s->positions))
                return;
        snprintf(s->positions, sizeof(s->positions), "%s", text);
        saved_file_save(s->positions_file);
}

void session_on_active(struct session *s)
{
        const struct program *p = engine_program(s->engine);

        if (!s->marked_active)
                s->marked_active = marker_set(s->state_fd, s->state_dir, p ? p->id : NULL) >= 0;
}

void session_on_idle(struct session *s)
{
        s->usage_tick_usec = 0; /* the next tick counts from itself */
        if (s->marked_active && marker_clear(s->state_fd, s->state_dir) >= 0)
                s->marked_active = false;
}

bool session_restore(struct session *s, char *what, size_t size)
{
        int r;

        if (!marker_found(s->state_fd, s->state_dir, what, size)) {
                /* A clean end: the relay-pair motors are where they were saved (after an unclean one they
                 * may have moved, and home first). */
                r = positions_restore(s->state_fd, s->state_dir, s->chair);
                if (r > 0)
                        log_info("%d motor position%s restored from %s/" POSITIONS_FILE, r,
                                 r == 1 ? "" : "s", s->state_dir);
                else if (r < 0 && !file_error_is_odd(r))
                        log_warning_errno(r, "Cannot read the saved motor positions: %m; the motors home");
                if (r > 0)
                        positions_format(s->chair, s->positions, sizeof(s->positions));
                return false;
        }
        /* The relay-pair motors may have moved since they were saved: they home, and the old positions must
         * not come back at a later clean start. */
        if (unlinkat(s->state_fd, POSITIONS_FILE, 0) < 0 && errno != ENOENT)
                log_warning_errno(-errno, "Cannot remove %s/" POSITIONS_FILE ": %m", s->state_dir);
        s->marked_active = true; /* it stays until the chair is idle and safe again */
        /* A session cut short has its own record, which names the fault: not a second one. */
        s->fault_recorded = recover_session(s);
        return true;
}

void session_on_exit(struct session *s, bool safe, bool faulted)
{
        char text[sizeof(s->positions)];

        /* The positions as they are now (a motor stopped midway is left out: it homes), written before exit;
         * also when a write was under way, whose result nobody hears of now. */
        if (safe && positions_format(s->chair, text, sizeof(text)) >= 0) {
                if (!streq(text, s->positions)) {
                        snprintf(s->positions, sizeof(s->positions), "%s", text);
                        saved_file_mark(s->positions_file);
                }
                int k = saved_file_flush(s->positions_file);
                if (k < 0)
                        log_warning_errno(k, "Cannot save the motors' positions in %s: %m",
                                          saved_file_path(s->positions_file));
        }
        if (safe && s->marked_active && !faulted) /* a latched fault stays for the next start to report */
                marker_clear(s->state_fd, s->state_dir);
}

/* --- the whole --- */

static int open_records(struct session *s, sd_event *event)
{
        int r;

        r = saved_file_new(event, s->state_fd, s->state_dir, SESSION_FILE, 0644, session_text,
                           on_session_written, s, &s->session_file);
        if (r >= 0)
                r = saved_file_new(event, s->state_fd, s->state_dir, POSITIONS_FILE, 0644, positions_text,
                                   on_positions_written, s, &s->positions_file);
        if (r < 0)
                return log_error_errno(r, "Cannot keep the motors' positions in %s: %m", s->state_dir);
        /* None keeps the chair from starting: an unreadable file starts afresh, with a word in the
         * journal. */
        r = history_new(event, s->state_fd, s->state_dir, s->config->sessions.history_max, &s->history);
        if (r >= 0)
                r = usage_new(event, s->state_fd, s->state_dir, &s->usage);
        if (r >= 0)
                r = profiles_new(event, s->state_fd, s->state_dir, s->config->sessions.profiles_max,
                                 profile_shoulder_offset_max(s->config), &s->profiles);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        return 0;
}

int session_new(sd_event *event, int state_fd, const char *state_dir, const struct chair_config *c,
                struct chair *chair, struct engine *e, double time_scale, usec_t tick_usec,
                struct session **ret)
{
        _cleanup_(session_freep) struct session *s = calloc(1, sizeof(*s));
        int r;

        if (!s)
                return -ENOMEM;
        *s = (struct session){.state_fd = state_fd,
                              .state_dir = state_dir,
                              .config = c,
                              .chair = chair,
                              .engine = e,
                              .time_scale = time_scale,
                              .tick_usec = tick_usec,
                              .usage_saved_usec = now_usec()};
        r = open_records(s, event);
        if (r < 0)
                return r;
        /* Every counter this chair has, at 0 until it counts. */
        usage_add(s->usage, "sessions", 0);
        usage_add(s->usage, "massage-usec", 0);
        if (c->n_heaters > 0)
                usage_add(s->usage, "heat-usec", 0);
        for (unsigned m = 0; m < CHAIR_MOTORS; m++)
                if (chair_motor_status(chair, m, &(struct chair_motor_status){}))
                        count_motor(s, m, 0);
        *ret = TAKE_PTR(s);
        return 0;
}

struct session *session_free(struct session *s)
{
        if (!s)
                return NULL;
        saved_file_free(s->positions_file);
        saved_file_free(s->session_file);
        history_free(s->history);
        usage_free(s->usage);
        profiles_free(s->profiles);
        free(s);
        return NULL;
}

const struct history *session_history(const struct session *s)
{
        return s->history;
}

const struct usage *session_usage(const struct session *s)
{
        return s->usage;
}

struct profiles *session_profiles(const struct session *s)
{
        return s->profiles;
}

const char *session_selected(const struct session *s)
{
        return s->profile;
}

void session_select(struct session *s, const char *name)
{
        snprintf(s->profile, sizeof(s->profile), "%s", name);
}

const char *session_started_with(const struct session *s)
{
        return s->session_profile;
}
