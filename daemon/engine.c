/* engine.c: runs one program's compiled timeline on the chair, on absolute CLOCK_MONOTONIC deadlines. */
#include <errno.h>
#include <math.h>

#include "engine.h"
#include "log.h"

/* Above SD_EVENT_PRIORITY_IMPORTANT, where the tick, the watchdog and the drivers' events run. */
#define ENGINE_TIMER_PRIORITY (SD_EVENT_PRIORITY_IMPORTANT - 1)

DEFINE_STRING_TABLE(finish_reason, enum finish_reason, _FINISH_REASON_MAX, "completed", "stopped", "fault",
                    "emergency-stop", "timeout")

struct engine {
        sd_event *event;
        struct chair *chair;
        const struct chair_config *config;
        double time_scale;
        struct engine_callbacks cb;
        void *userdata;

        enum engine_state state;
        struct catalog_entry *entry;
        struct timeline *timeline;
        size_t next;             /* the next setpoint to apply */
        usec_t t0;               /* CLOCK_MONOTONIC of program time 0, moved on by pauses */
        usec_t paused_elapsed;   /* program time when paused */
        usec_t finished_elapsed; /* program time the last program ran, once it ended */
        bool scan_pending;       /* paused during the scan: scan again on resume */
        sd_event_source *timer;
        sd_event_source *cap_timer;
        unsigned intensity;
        size_t phase;
        bool have_phase;

        /* What each track does now, to resume and to apply a new intensity. */
        const struct setpoint *roller;
        const struct setpoint **airbag; /* per zone */
        unsigned *heat;                 /* the program's level per heater */
        bool *heat_override;
        const char *preset;
        unsigned foot;
        struct engine_adjust adjust; /* the person's own settings (Adjust) */

        engine_trace_t trace;
        void *trace_userdata;
};

/* Program time to CLOCK_MONOTONIC and back, through the time scale. */
static usec_t scaled(const struct engine *e, usec_t program_usec)
{
        return e->time_scale == 1.0 ? program_usec : (usec_t) llround((double) program_usec / e->time_scale);
}

static usec_t deadline(const struct engine *e, usec_t at_usec)
{
        return e->t0 + scaled(e, at_usec);
}

static void changed(struct engine *e, unsigned what)
{
        if (e->cb.changed)
                e->cb.changed(e, what, e->userdata);
}

static const char *program_id(const struct engine *e)
{
        return e->entry ? e->entry->program->id : NULL;
}

static int find_zone(const struct engine *e, const char *name)
{
        for (size_t z = 0; z < e->config->n_zones; z++)
                if (streq(e->config->zones[z].name, name))
                        return (int) z;
        return -1;
}

static int find_heater(const struct engine *e, const char *zone)
{
        for (size_t h = 0; h < e->config->n_heaters; h++)
                if (streq(e->config->heaters[h].zone, zone))
                        return (int) h;
        return -1;
}

static int intensity_offset(const struct engine *e)
{
        return (int) e->intensity - (int) INTENSITY_DEFAULT;
}

static unsigned airbag_intensity(const struct engine *e, unsigned programmed)
{
        int i = (int) programmed + intensity_offset(e);
        return i < 1 ? 1 : i > AIRBAG_INTENSITY_LEVELS ? AIRBAG_INTENSITY_LEVELS : (unsigned) i;
}

static void apply_airbag(struct engine *e, size_t z)
{
        const struct setpoint *s = e->airbag[z];
        unsigned intensity = e->adjust.airbag_intensity ?: airbag_intensity(e, s->airbag.intensity);

        chair_airbag(e->chair, z, s->airbag.valve, intensity);
}

static bool position_same(const struct position *a, const struct position *b)
{
        return a->kind == b->kind &&
               (a->kind == POSITION_LANDMARK ? a->landmark == b->landmark : a->track == b->track);
}

/* The roller's present setpoint with the person's adjustments: their speed, width and depth in place of the
 * program's, and its targets moved into their area, each at the same point of the new area as of the old
 * (a spot of the program's at the new area's middle). */
static void apply_roller(struct engine *e)
{
        struct roller_setpoint sp = e->roller->roller;
        const struct engine_adjust *a = &e->adjust;
        int offset = intensity_offset(e);

        if (sp.active) {
                if (a->speed)
                        sp.speed = a->speed;
                if (a->width >= 0)
                        sp.width = (enum width) a->width;
                if (a->depth) {
                        sp.depth = a->depth;
                        offset = 0;
                }
                if (a->area) {
                        if (position_same(&sp.target.from, &sp.target.to))
                                sp.target.fraction = 0.5;
                        sp.target.from = a->from;
                        sp.target.to = a->to;
                }
        }
        chair_roller(e->chair, &sp, offset);
}

static void apply_foot(struct engine *e)
{
        chair_foot(e->chair, e->adjust.foot >= 0 ? (unsigned) e->adjust.foot : e->foot);
}

static void apply(struct engine *e, const struct setpoint *s)
{
        const struct program *p = e->entry->program;
        int i;

        switch (s->track) {
        case TRACK_PHASE:
                e->phase = s->phase;
                e->have_phase = true;
                log_fields(LOG_INFO, 0, p->id, p->phases[s->phase].name, NULL, "Program %s: phase %s", p->id,
                           p->phases[s->phase].name);
                changed(e, ENGINE_CHANGED_PHASE);
                break;
        case TRACK_RECLINE:
                e->preset = s->preset;
                if (chair_recline(e->chair, s->preset) < 0)
                        log_warning("Program %s: the chair has no recline preset %s", p->id, s->preset);
                break;
        case TRACK_ROLLER:
                e->roller = s;
                apply_roller(e);
                break;
        case TRACK_AIRBAG:
                i = find_zone(e, s->airbag.zone);
                if (i >= 0) {
                        e->airbag[i] = s;
                        apply_airbag(e, (size_t) i);
                }
                break;
        case TRACK_HEAT:
                i = find_heater(e, s->heat.zone);
                if (i >= 0) {
                        e->heat[i] = s->heat.level;
                        if (!e->heat_override[i])
                                chair_heat(e->chair, (size_t) i, s->heat.level);
                }
                break;
        case TRACK_FOOT:
                e->foot = s->foot_speed;
                apply_foot(e);
                break;
        case _TRACK_MAX:
                break;
        }
}

static void arm(struct engine *e)
{
        const struct timeline *t = e->timeline;
        usec_t at = e->next < t->n_points ? t->points[e->next].at_usec : t->duration_usec;

        sd_event_source_set_time(e->timer, deadline(e, at));
        sd_event_source_set_enabled(e->timer, SD_EVENT_ONESHOT);
}

static void forget_tracks(struct engine *e)
{
        e->roller = NULL;
        e->preset = NULL;
        e->foot = 0;
        e->adjust = ENGINE_ADJUST_NONE;
        for (size_t z = 0; z < e->config->n_zones; z++)
                e->airbag[z] = NULL;
        for (size_t h = 0; h < e->config->n_heaters; h++) {
                e->heat[h] = 0;
                e->heat_override[h] = false;
        }
}

static void finish(struct engine *e, enum finish_reason reason)
{
        _cleanup_free_ char *id = strdup(program_id(e) ?: "");

        log_fields(reason == FINISH_COMPLETED || reason == FINISH_STOPPED ? LOG_INFO : LOG_WARNING, 0, id,
                   NULL, NULL, "Program %s ended: %s", id ?: "", finish_reason_to_string(reason));
        e->finished_elapsed = engine_elapsed(e);
        sd_event_source_set_enabled(e->timer, SD_EVENT_OFF);
        sd_event_source_set_enabled(e->cap_timer, SD_EVENT_OFF);
        e->state = ENGINE_IDLE;
        e->entry = catalog_entry_unref(e->entry);
        e->timeline = timeline_free(e->timeline);
        e->have_phase = false;
        e->scan_pending = false;
        forget_tracks(e);
        changed(e, ENGINE_CHANGED_STATE | ENGINE_CHANGED_PROGRAM | ENGINE_CHANGED_PHASE);
        if (e->cb.finished)
                e->cb.finished(e, id ?: "", reason, e->userdata);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct engine *e = userdata;
        const struct timeline *t = e->timeline;
        usec_t now = now_usec();

        while (e->state == ENGINE_RUNNING && e->next < t->n_points) {
                const struct setpoint *sp = &t->points[e->next];
                usec_t due = deadline(e, sp->at_usec);
                if (due > now)
                        break;
                e->next++;
                apply(e, sp);
                if (e->trace)
                        e->trace(e, sp, due, e->trace_userdata);
        }
        if (e->state != ENGINE_RUNNING)
                return 0;
        usec_t end = deadline(e, t->duration_usec);
        if (e->next >= t->n_points && now >= end) {
                if (e->trace)
                        e->trace(e, NULL, end, e->trace_userdata);
                /* How well the deadlines held, in the journal: the load test reads it. */
                log_fields(LOG_INFO, 0, program_id(e), NULL, NULL,
                           "Program %s reached its end %.1f ms after its deadline", program_id(e),
                           (double) (now_usec() - end) / USEC_PER_MSEC);
                finish(e, FINISH_COMPLETED);
                return 0;
        }
        arm(e);
        return 0;
}

static int on_cap(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct engine *e = userdata;

        log_fields(LOG_WARNING, 0, program_id(e), NULL, NULL, "Program %s reached the session cap",
                   program_id(e));
        engine_stop(e, FINISH_TIMEOUT);
        return 0;
}

static void begin_timeline(struct engine *e)
{
        e->t0 = now_usec();
        e->next = 0;
        e->state = ENGINE_RUNNING;
        changed(e, ENGINE_CHANGED_STATE);
        on_timer(e->timer, e->t0, e); /* setpoints at time 0 go out now */
}

/* The body scan first where the chair has one; the timeline starts when it ends. */
static void scan_or_begin(struct engine *e)
{
        if (chair_scan(e->chair) == 0) {
                e->state = ENGINE_SCANNING;
                changed(e, ENGINE_CHANGED_STATE);
        } else
                begin_timeline(e);
}

int engine_new(sd_event *event, struct chair *chair, const struct chair_config *config, double time_scale,
               const struct engine_callbacks *cb, void *userdata, struct engine **ret)
{
        _cleanup_(engine_freep) struct engine *e = calloc(1, sizeof(*e));
        int r;

        if (!e)
                return -ENOMEM;
        e->event = sd_event_ref(event);
        e->chair = chair;
        e->config = config;
        e->time_scale = time_scale;
        e->cb = *cb;
        e->userdata = userdata;
        e->intensity = INTENSITY_DEFAULT;
        e->adjust = ENGINE_ADJUST_NONE;
        e->airbag = calloc(config->n_zones + 1, sizeof(*e->airbag));
        e->heat = calloc(config->n_heaters + 1, sizeof(*e->heat));
        e->heat_override = calloc(config->n_heaters + 1, sizeof(*e->heat_override));
        if (!e->airbag || !e->heat || !e->heat_override)
                return -ENOMEM;
        /* Accuracy 1 us: sd-event would otherwise batch wakeups and make every setpoint late. */
        r = sd_event_add_time(event, &e->timer, CLOCK_MONOTONIC, USEC_INFINITY, 1, on_timer, e);
        if (r < 0)
                return r;
        r = sd_event_add_time(event, &e->cap_timer, CLOCK_MONOTONIC, USEC_INFINITY, USEC_PER_MSEC, on_cap,
                              e);
        if (r < 0)
                return r;
        /* Setpoints go before D-Bus traffic, however much of it waits, and before the readings and the tick
         * that fall due with them: a setpoint is due at an exact time, a reading is handled a moment
         * later. */
        if ((r = sd_event_source_set_priority(e->timer, ENGINE_TIMER_PRIORITY)) < 0 ||
            (r = sd_event_source_set_priority(e->cap_timer, SD_EVENT_PRIORITY_IMPORTANT)) < 0)
                return r;
        sd_event_source_set_enabled(e->timer, SD_EVENT_OFF);
        sd_event_source_set_enabled(e->cap_timer, SD_EVENT_OFF);
        *ret = TAKE_PTR(e);
        return 0;
}

struct engine *engine_free(struct engine *e)
{
        if (!e)
                return NULL;
        sd_event_source_disable_unref(e->timer);
        sd_event_source_disable_unref(e->cap_timer);
        catalog_entry_unref(e->entry);
        timeline_free(e->timeline);
        sd_event_unref(e->event);
        free(e->airbag);
        free(e->heat);
        free(e->heat_override);
        free(e);
        return NULL;
}

int engine_start_timeline(struct engine *e, struct catalog_entry *entry, struct timeline *t,
                          unsigned intensity)
{
        usec_t cap = e->config->safety.session_cap_usec;

        if (e->state != ENGINE_IDLE)
                return -EBUSY;
        if (t->duration_usec > cap)
                return -ERANGE;
        e->entry = catalog_entry_ref(entry);
        e->timeline = t;
        if (intensity)
                e->intensity = intensity;
        forget_tracks(e);
        sd_event_source_set_time(e->cap_timer, now_usec() + scaled(e, cap));
        sd_event_source_set_enabled(e->cap_timer, SD_EVENT_ONESHOT);
        log_fields(LOG_INFO, 0, entry->program->id, NULL, NULL, "Program %s starts (%llu s, intensity %u)",
                   entry->program->id, (unsigned long long) (t->duration_usec / USEC_PER_SEC), e->intensity);
        changed(e, ENGINE_CHANGED_PROGRAM | ENGINE_CHANGED_INTENSITY);
        scan_or_begin(e);
        return 0;
}

int engine_start(struct engine *e, struct catalog_entry *entry, usec_t duration_usec, unsigned intensity)
{
        struct timeline *t = NULL;
        int r;

        if (e->state != ENGINE_IDLE)
                return -EBUSY;
        if (duration_usec > e->config->safety.session_cap_usec ||
            (!duration_usec && entry->program->duration_usec > e->config->safety.session_cap_usec))
                return -ERANGE;
        r = timeline_compile(entry->program, duration_usec, e->config, &t);
        if (r < 0)
                return r;
        r = engine_start_timeline(e, entry, t, intensity);
        if (r < 0)
                timeline_free(t);
        return r;
}

void engine_on_chair(struct engine *e, unsigned chair_changes)
{
        if ((chair_changes & CHAIR_CHANGED_SCAN) && e->state == ENGINE_SCANNING && !chair_scanning(e->chair))
                begin_timeline(e);
}

static void wind_down(struct engine *e)
{
        const struct program *p = e->entry->program;
        static const struct roller_setpoint park = {.active = false};

        chair_roller(e->chair, &park, 0);
        for (size_t z = 0; z < e->config->n_zones; z++)
                chair_airbag(e->chair, z, VALVE_VENT, 0);
        for (size_t h = 0; h < e->config->n_heaters; h++)
                chair_heat(e->chair, h, 0);
        chair_foot(e->chair, 0);
        /* Only if nothing ended the program meanwhile (a fault latched by what the calls above reported). */
        if (e->state != ENGINE_IDLE && p->uses_recline && p->at_end == AT_END_UPRIGHT)
                chair_recline(e->chair, PRESET_UPRIGHT);
}

int engine_stop(struct engine *e, enum finish_reason reason)
{
        if (e->state == ENGINE_IDLE)
                return -ENOENT;
        wind_down(e);
        if (e->state != ENGINE_IDLE)
                finish(e, reason);
        return 0;
}

void engine_abort(struct engine *e, enum finish_reason reason)
{
        if (e->state != ENGINE_IDLE)
                finish(e, reason);
}

int engine_pause(struct engine *e)
{
        if (e->state == ENGINE_IDLE)
                return -ENOENT;
        if (e->state == ENGINE_PAUSED)
                return -EALREADY;
        e->scan_pending = e->state == ENGINE_SCANNING;
        e->paused_elapsed = engine_elapsed(e);
        sd_event_source_set_enabled(e->timer, SD_EVENT_OFF);
        e->state = ENGINE_PAUSED;
        chair_hold(e->chair);
        log_fields(LOG_INFO, 0, program_id(e), engine_phase(e), NULL, "Program %s paused", program_id(e));
        changed(e, ENGINE_CHANGED_STATE);
        return 0;
}

int engine_resume(struct engine *e)
{
        if (e->state == ENGINE_IDLE)
                return -ENOENT;
        if (e->state != ENGINE_PAUSED)
                return -EALREADY;
        log_fields(LOG_INFO, 0, program_id(e), engine_phase(e), NULL, "Program %s resumed", program_id(e));
        if (e->scan_pending) {
                e->scan_pending = false;
                scan_or_begin(e);
                return 0;
        }
        /* Pick up where it was: the clock moves on by the pause, and every track does what it did. */
        e->t0 = now_usec() - scaled(e, e->paused_elapsed);
        e->state = ENGINE_RUNNING;
        if (e->preset)
                chair_recline(e->chair, e->preset);
        if (e->roller)
                apply_roller(e);
        for (size_t z = 0; z < e->config->n_zones; z++)
                if (e->airbag[z])
                        apply_airbag(e, z);
        apply_foot(e);
        changed(e, ENGINE_CHANGED_STATE);
        arm(e);
        return 0;
}

void engine_set_intensity(struct engine *e, unsigned intensity)
{
        e->intensity = intensity;
        if (e->state == ENGINE_RUNNING) {
                if (e->roller)
                        apply_roller(e);
                for (size_t z = 0; z < e->config->n_zones; z++)
                        if (e->airbag[z] && e->airbag[z]->airbag.valve == VALVE_INFLATE)
                                apply_airbag(e, z);
        }
        changed(e, ENGINE_CHANGED_INTENSITY);
}

/* What the adjustment changes goes out now; a paused or scanning session takes it when it goes on. */
static void apply_adjustment(struct engine *e)
{
        if (e->state != ENGINE_RUNNING)
                return;
        if (e->roller)
                apply_roller(e);
        for (size_t z = 0; z < e->config->n_zones; z++)
                if (e->airbag[z] && e->airbag[z]->airbag.valve == VALVE_INFLATE)
                        apply_airbag(e, z);
        apply_foot(e);
}

int engine_adjust(struct engine *e, const struct engine_adjust *changes)
{
        struct engine_adjust *a = &e->adjust;

        if (e->state == ENGINE_IDLE)
                return -ENOENT;
        if (changes->speed)
                a->speed = changes->speed;
        if (changes->depth)
                a->depth = changes->depth;
        if (changes->width >= 0)
                a->width = changes->width;
        if (changes->area) {
                a->area = true;
                a->from = changes->from;
                a->to = changes->to;
        }
        if (changes->airbag_intensity)
                a->airbag_intensity = changes->airbag_intensity;
        if (changes->foot >= 0)
                a->foot = changes->foot;
        apply_adjustment(e);
        return 0;
}

int engine_adjust_reset(struct engine *e)
{
        if (e->state == ENGINE_IDLE)
                return -ENOENT;
        e->adjust = ENGINE_ADJUST_NONE;
        apply_adjustment(e);
        return 0;
}

const struct engine_adjust *engine_adjustment(const struct engine *e)
{
        return &e->adjust;
}

void engine_reapply_roller(struct engine *e)
{
        if (e->state == ENGINE_RUNNING && e->roller)
                apply_roller(e);
}

int engine_replace(struct engine *e, struct catalog_entry *entry, usec_t duration_usec)
{
        _cleanup_(timeline_freep) struct timeline *t = NULL;
        _cleanup_free_ char *old_preset = NULL;
        usec_t elapsed = engine_elapsed(e);
        int r;

        if (e->state == ENGINE_IDLE)
                return -ENOENT;
        if (duration_usec > e->config->safety.session_cap_usec)
                return -ERANGE;
        r = timeline_compile(entry->program, duration_usec, e->config, &t);
        if (r < 0)
                return r;
        if (t->duration_usec <= elapsed)
                return -EINVAL;
        if (e->preset) {
                old_preset = strdup(e->preset);
                if (!old_preset)
                        return -ENOMEM;
        }

        /* The tracks point into the old timeline and program: forgotten before those go. What the new
         * program leaves out stops. */
        bool had_roller = e->roller && e->roller->roller.active;
        e->roller = NULL;
        e->foot = 0;
        e->preset = NULL;
        for (size_t z = 0; z < e->config->n_zones; z++)
                e->airbag[z] = NULL;
        catalog_entry_unref(e->entry);
        e->entry = catalog_entry_ref(entry);
        timeline_free(e->timeline);
        e->timeline = TAKE_PTR(t);
        e->have_phase = false;
        e->next = 0;
        if (e->state == ENGINE_SCANNING || (e->state == ENGINE_PAUSED && e->scan_pending)) {
                changed(e, ENGINE_CHANGED_PROGRAM | ENGINE_CHANGED_PHASE);
                return 0;
        }

        /* Every setpoint due by now, as the new program has them; the outputs of one loop iteration go out
         * together, so only the last of each track reaches the chair. Paused, what moves is only noted
         * (resuming drives it); heat goes on through a pause and is set. A recline the new program shares
         * with the old is not sent again: the person may have moved the chair since. */
        bool drive = e->state == ENGINE_RUNNING;
        const struct timeline *tl = e->timeline;
        for (; e->next < tl->n_points && tl->points[e->next].at_usec <= elapsed; e->next++) {
                const struct setpoint *sp = &tl->points[e->next];
                int z;

                switch (sp->track) {
                case TRACK_RECLINE:
                        if (!drive || streq_ptr(sp->preset, old_preset)) {
                                e->preset = sp->preset;
                                continue;
                        }
                        break;
                case TRACK_ROLLER:
                        if (!drive) {
                                e->roller = sp;
                                continue;
                        }
                        break;
                case TRACK_AIRBAG:
                        if (!drive) {
                                if ((z = find_zone(e, sp->airbag.zone)) >= 0)
                                        e->airbag[z] = sp;
                                continue;
                        }
                        break;
                case TRACK_FOOT:
                        if (!drive) {
                                e->foot = sp->foot_speed;
                                continue;
                        }
                        break;
                default:
                        break;
                }
                apply(e, sp);
        }
        if (drive) {
                static const struct roller_setpoint park = {.active = false};
                if (had_roller && !e->roller)
                        chair_roller(e->chair, &park, 0);
                apply_foot(e);
        }
        for (size_t z = 0; z < e->config->n_zones; z++)
                if (!e->airbag[z])
                        chair_airbag(e->chair, z, VALVE_VENT, 0);
        changed(e, ENGINE_CHANGED_PROGRAM | ENGINE_CHANGED_PHASE);
        if (drive)
                arm(e);
        return 0;
}

void engine_set_trace(struct engine *e, engine_trace_t trace, void *userdata)
{
        e->trace = trace;
        e->trace_userdata = userdata;
}

void engine_override_heat(struct engine *e, size_t heater)
{
        if (e->state != ENGINE_IDLE)
                e->heat_override[heater] = true;
}

enum engine_state engine_state(const struct engine *e)
{
        return e->state;
}

const struct program *engine_program(const struct engine *e)
{
        return e->entry ? e->entry->program : NULL;
}

bool engine_phase_index(const struct engine *e, size_t *ret)
{
        if (!e->have_phase)
                return false;
        *ret = e->phase;
        return true;
}

const struct timeline *engine_timeline(const struct engine *e)
{
        return e->entry ? e->timeline : NULL;
}

const char *engine_phase(const struct engine *e)
{
        return e->have_phase ? e->entry->program->phases[e->phase].name : NULL;
}

usec_t engine_elapsed(const struct engine *e)
{
        switch (e->state) {
        case ENGINE_RUNNING: {
                usec_t now = now_usec(), d = e->timeline->duration_usec;
                usec_t el = now <= e->t0 ? 0 : (usec_t) llround((double) (now - e->t0) * e->time_scale);
                return el > d ? d : el;
        }
        case ENGINE_PAUSED:
                return e->paused_elapsed;
        default:
                return 0;
        }
}

usec_t engine_finished_elapsed(const struct engine *e)
{
        return e->finished_elapsed;
}

usec_t engine_duration(const struct engine *e)
{
        return e->timeline ? e->timeline->duration_usec : 0;
}

unsigned engine_intensity(const struct engine *e)
{
        return e->intensity;
}
