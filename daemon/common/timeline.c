/* timeline.c: compiles a program into setpoints per track at exact times. */
#include <errno.h>
#include <math.h>
#include <stdio.h>

#include "timeline.h"

DEFINE_STRING_TABLE(track, enum track, _TRACK_MAX, "phase", "recline", "roller", "airbag", "heat", "foot")

struct compiler {
        const struct program *program;
        struct timeline *t;
        char **airbag_zones; /* every zone the program uses, borrowed strings */
        size_t n_airbag_zones;
        char **heat_zones;
        size_t n_heat_zones;
        const struct roller_geometry *geometry; /* the chair's, or the reference chair's */
        /* Where the roller was last sent (roller_at), from where (roller_from), and when that step began and
         * how long it had: so a phase knows about where a step cut short left the roller. */
        struct body_point roller_from, roller_at;
        usec_t roller_step_at, roller_step_usec;
        int error;
};

static struct setpoint *emit(struct compiler *c, usec_t at, enum track track)
{
        struct timeline *t = c->t;

        if (c->error < 0)
                return NULL;
        if (grow_array(&t->points, &t->cap_points, t->n_points + 1, sizeof(*t->points)) < 0) {
                c->error = -ENOMEM;
                return NULL;
        }
        t->points[t->n_points] =
                (struct setpoint){.at_usec = at, .track = track, .seq = (uint32_t) t->n_points};
        return &t->points[t->n_points++];
}

static void emit_airbag(struct compiler *c, usec_t at, const char *zone, enum valve_state v,
                        unsigned intensity)
{
        struct setpoint *s = emit(c, at, TRACK_AIRBAG);
        if (s) {
                s->airbag.zone = zone;
                s->airbag.valve = v;
                s->airbag.intensity = intensity;
        }
}

static void emit_heat(struct compiler *c, usec_t at, const char *zone, unsigned level)
{
        struct setpoint *s = emit(c, at, TRACK_HEAT);
        if (s) {
                s->heat.zone = zone;
                s->heat.level = level;
        }
}

static void emit_roller_off(struct compiler *c, usec_t at)
{
        struct setpoint *s = emit(c, at, TRACK_ROLLER);
        if (s)
                s->roller.active = false;
        /* Parked: at the top of the track. */
        c->roller_at = c->roller_from =
                (struct body_point){.from = {.kind = POSITION_TRACK}, .to = {.kind = POSITION_TRACK}};
        c->roller_step_usec = 0;
}

/* About where the roller is at time at, for usual shoulders: on its way from the last step's start to its
 * target, as far as the step's time has run (a step cut short by its phase's end left it midway). */
static double roller_estimate(const struct compiler *c, usec_t at)
{
        const struct roller_geometry *g = c->geometry;
        double from = body_point_resolve(&c->roller_from, g, g->shoulder_mm),
               to = body_point_resolve(&c->roller_at, g, g->shoulder_mm);
        double f = c->roller_step_usec && at < c->roller_step_at + c->roller_step_usec
                           ? (double) (at - c->roller_step_at) / (double) c->roller_step_usec
                           : 1.0;

        return from + (to - from) * f;
}

/* Whether a sweep of the area from..to goes to its end first: when its start is nearer to where the roller
 * is (for usual shoulders), so that the first stroke travels the area instead of standing still or only
 * getting there. */
static bool sweep_toward_end_first(const struct compiler *c, const struct roller_phase *r, usec_t start)
{
        const struct roller_geometry *g = c->geometry;
        double at = roller_estimate(c, start);
        double from = position_resolve(&r->from, g, g->shoulder_mm),
               to = position_resolve(&r->to, g, g->shoulder_mm);

        return fabs(from - at) <= fabs(to - at);
}

static void emit_foot(struct compiler *c, usec_t at, unsigned speed)
{
        struct setpoint *s = emit(c, at, TRACK_FOOT);
        if (s)
                s->foot_speed = speed;
}

/* Adds zone to a set of borrowed names, keeping first-use order. */
static int zone_set_add(char ***set, size_t *n, char *zone)
{
        char **grown;

        for (size_t i = 0; i < *n; i++)
                if (streq((*set)[i], zone))
                        return 0;
        grown = realloc(*set, (*n + 1) * sizeof(**set));
        if (!grown)
                return -ENOMEM;
        grown[(*n)++] = zone;
        *set = grown;
        return 0;
}

static int collect_zones(struct compiler *c)
{
        const struct program *p = c->program;

        for (size_t i = 0; i < p->n_phases; i++) {
                const struct phase *ph = &p->phases[i];
                for (char **z = ph->airbags.zones; ph->airbags.set && z && *z; z++)
                        if (zone_set_add(&c->airbag_zones, &c->n_airbag_zones, *z) < 0)
                                return -ENOMEM;
                for (size_t k = 0; k < ph->n_heat; k++)
                        if (zone_set_add(&c->heat_zones, &c->n_heat_zones, ph->heat[k].zone) < 0)
                                return -ENOMEM;
        }
        return 0;
}

static void compile_roller(struct compiler *c, const struct phase *ph, usec_t start, usec_t end)
{
        const struct roller_phase *r = &ph->roller;
        /* Without a pattern: a spot is held for the whole phase; an area is swept end to end, first away
         * from the end nearer to the roller. */
        const bool end_first = r->set && !r->off && sweep_toward_end_first(c, r, start);
        const struct pattern_step sweep[] = {
                {.to = {.area = end_first ? 1.0 : 0.0}, .time_usec = r->stroke_usec},
                {.to = {.area = end_first ? 0.0 : 1.0}, .time_usec = r->stroke_usec},
        };
        const struct pattern_step hold = {.to = {.area = 0.0}, .time_usec = end - start};
        const struct pattern_step *steps;
        size_t n_steps;

        if (!r->set || r->off) {
                emit_roller_off(c, start);
                return;
        }
        if (r->pattern != SIZE_MAX) {
                steps = c->program->patterns[r->pattern].steps;
                n_steps = c->program->patterns[r->pattern].n_steps;
        } else if (r->spot) {
                steps = &hold;
                n_steps = 1;
        } else {
                steps = sweep;
                n_steps = ELEMENTSOF(sweep);
        }

        for (usec_t t = start, k = 0; t < end; t += steps[k].time_usec, k = (k + 1) % n_steps) {
                const struct pattern_step *st = &steps[k];
                struct setpoint *s = emit(c, t, TRACK_ROLLER);

                if (!s)
                        return;
                s->roller = (struct roller_setpoint){
                        .active = true,
                        .technique = st->technique ?: r->technique,
                        .speed = st->speed ?: r->speed,
                        .depth = st->depth ?: r->depth,
                        .width = st->width ? (enum width)(st->width - 1) : r->width,
                };
                if (st->to.absolute)
                        s->roller.target = (struct body_point){st->to.position, st->to.position, 0.0};
                else
                        s->roller.target = (struct body_point){r->from, r->to, st->to.area};
                c->roller_from = c->roller_at;
                c->roller_at = s->roller.target;
                c->roller_step_at = t;
                c->roller_step_usec = st->time_usec;
        }
}

static void compile_airbags(struct compiler *c, const struct phase *ph, usec_t start, usec_t end)
{
        const struct airbag_phase *a = &ph->airbags;
        usec_t in, hold, vent, period;
        size_t n;

        /* Zones this phase does not use go (or stay) vented. */
        for (size_t i = 0; i < c->n_airbag_zones; i++)
                if (!a->set || a->off || !strv_contains((const char *const *) a->zones, c->airbag_zones[i]))
                        emit_airbag(c, start, c->airbag_zones[i], VALVE_VENT, 0);
        if (!a->set || a->off)
                return;

        in = a->inflate_usec;
        hold = a->hold_usec;
        vent = a->vent_usec;
        n = strv_length(a->zones);

#define AT(t, zone, v)                                                                                      \
        do {                                                                                                \
                if ((t) < end)                                                                              \
                        emit_airbag(c, (t), (zone), (v), a->intensity);                                     \
        } while (0)

        switch (a->pattern) {
        case AIRBAG_PATTERN_HOLD:
                for (size_t z = 0; z < n; z++) {
                        AT(start, a->zones[z], VALVE_INFLATE);
                        AT(start + in, a->zones[z], VALVE_HOLD);
                }
                break;
        case AIRBAG_PATTERN_PULSE:
                period = in + hold + vent;
                for (usec_t t = start; t < end; t += period)
                        for (size_t z = 0; z < n; z++) {
                                AT(t, a->zones[z], VALVE_INFLATE);
                                AT(t + in, a->zones[z], VALVE_HOLD);
                                AT(t + in + hold, a->zones[z], VALVE_VENT);
                        }
                break;
        case AIRBAG_PATTERN_WAVE:
                /* Each zone starts inflating as the one before it starts holding. */
                period = n * in + hold + vent;
                for (usec_t t = start; t < end; t += period)
                        for (size_t z = 0; z < n; z++) {
                                usec_t z0 = t + z * in;
                                AT(z0, a->zones[z], VALVE_INFLATE);
                                AT(z0 + in, a->zones[z], VALVE_HOLD);
                                AT(z0 + in + hold, a->zones[z], VALVE_VENT);
                        }
                break;
        case AIRBAG_PATTERN_ALTERNATE:
                /* Zones in even places against those in odd places: one group fills as the other empties. */
                period = 2 * (in + hold);
                for (usec_t t = start; t < end; t += period)
                        for (size_t z = 0; z < n; z++) {
                                usec_t z0 = t + (z % 2) * (in + hold);
                                AT(z0, a->zones[z], VALVE_INFLATE);
                                AT(z0 + in, a->zones[z], VALVE_HOLD);
                                AT(z0 + in + hold, a->zones[z], VALVE_VENT);
                        }
                break;
        default:
                break;
        }
#undef AT
}

static int setpoint_compare(const void *pa, const void *pb)
{
        const struct setpoint *a = pa, *b = pb;

        if (a->at_usec != b->at_usec)
                return a->at_usec < b->at_usec ? -1 : 1;
        return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The zone a setpoint addresses, for tracks that have zones. */
static const char *setpoint_zone(const struct setpoint *s)
{
        return s->track == TRACK_AIRBAG ? s->airbag.zone : s->track == TRACK_HEAT ? s->heat.zone : NULL;
}

static bool position_equal(const struct position *a, const struct position *b)
{
        return a->kind == b->kind &&
               (a->kind == POSITION_LANDMARK ? a->landmark == b->landmark : a->track == b->track);
}

/* Whether b would change nothing after a (same track and zone). */
static bool setpoint_same_value(const struct setpoint *a, const struct setpoint *b)
{
        switch (a->track) {
        case TRACK_PHASE:
                return false;
        case TRACK_RECLINE:
                return streq(a->preset, b->preset);
        case TRACK_ROLLER:
                if (!a->roller.active || !b->roller.active)
                        return a->roller.active == b->roller.active;
                return position_equal(&a->roller.target.from, &b->roller.target.from) &&
                       position_equal(&a->roller.target.to, &b->roller.target.to) &&
                       a->roller.target.fraction == b->roller.target.fraction &&
                       a->roller.technique == b->roller.technique && a->roller.speed == b->roller.speed &&
                       a->roller.depth == b->roller.depth && a->roller.width == b->roller.width;
        case TRACK_AIRBAG:
                return a->airbag.valve == b->airbag.valve &&
                       (a->airbag.valve == VALVE_VENT || a->airbag.intensity == b->airbag.intensity);
        case TRACK_HEAT:
                return a->heat.level == b->heat.level;
        case TRACK_FOOT:
                return a->foot_speed == b->foot_speed;
        default:
                return false;
        }
}

static bool same_channel(const struct setpoint *a, const struct setpoint *b)
{
        return a->track == b->track && streq_ptr(setpoint_zone(a), setpoint_zone(b));
}

/* Keeps only setpoints that change something: of several for one channel at one time the last wins, and a
 * setpoint equal to the channel's current value is dropped. Channels start idle: roller parked, zones
 * vented, heat and foot rollers off, recline wherever it is. */
static int prune(struct compiler *c)
{
        struct timeline *t = c->t;
        _cleanup_free_ const struct setpoint **last = NULL;
        size_t n_channels = 0, out = 0;
        _cleanup_free_ bool *drop = NULL;

        drop = calloc(t->n_points, sizeof(*drop));
        last = calloc(t->n_points + 1, sizeof(*last));
        if ((!drop || !last) && t->n_points > 0)
                return -ENOMEM;

        for (size_t i = 0; i < t->n_points; i++)
                for (size_t j = i + 1; j < t->n_points && t->points[j].at_usec == t->points[i].at_usec; j++)
                        if (t->points[i].track != TRACK_PHASE &&
                            same_channel(&t->points[i], &t->points[j])) {
                                drop[i] = true;
                                break;
                        }

        for (size_t i = 0; i < t->n_points; i++) {
                const struct setpoint *s = &t->points[i];
                size_t k;

                if (drop[i])
                        continue;
                for (k = 0; k < n_channels; k++)
                        if (same_channel(last[k], s))
                                break;
                if (k == n_channels) {
                        static const struct setpoint idle_roller = {.track = TRACK_ROLLER};
                        /* The first setpoint of a channel is dropped if it only confirms the idle state. */
                        bool idle = (s->track == TRACK_ROLLER && setpoint_same_value(&idle_roller, s)) ||
                                    (s->track == TRACK_AIRBAG && s->airbag.valve == VALVE_VENT) ||
                                    (s->track == TRACK_HEAT && s->heat.level == 0) ||
                                    (s->track == TRACK_FOOT && s->foot_speed == 0);
                        last[n_channels++] = s;
                        drop[i] = idle;
                        continue;
                }
                drop[i] = setpoint_same_value(last[k], s);
                last[k] = s;
        }

        for (size_t i = 0; i < t->n_points; i++)
                if (!drop[i]) {
                        t->points[out] = t->points[i];
                        t->points[out].seq = (uint32_t) out;
                        out++;
                }
        t->n_points = out;
        return 0;
}

bool timeline_chair_has(const struct chair_config *cfg, enum track track)
{
        if (!cfg)
                return true;
        switch (track) {
        case TRACK_RECLINE:
                return cfg->axis[AXIS_BACKREST] || cfg->axis[AXIS_LEGREST] || cfg->axis[AXIS_SLIDE];
        case TRACK_ROLLER:
                return cfg->has_roller;
        case TRACK_AIRBAG:
                return cfg->airbag_zones != NULL;
        case TRACK_HEAT:
                return cfg->heat_zones != NULL;
        case TRACK_FOOT:
                return cfg->has_foot_rollers;
        default:
                return true;
        }
}

struct timeline *timeline_free(struct timeline *t)
{
        if (!t)
                return NULL;
        free(t->points);
        free(t->phase_start_usec);
        free(t);
        return NULL;
}

int timeline_compile(const struct program *p, usec_t duration_usec, const struct chair_config *config,
                     struct timeline **ret)
{
        _cleanup_(timeline_freep) struct timeline *t = NULL;
        struct compiler c = {
                .program = p,
                .geometry =
                        config && config->has_roller ? &config->roller.geometry : &roller_geometry_default,
        };
        usec_t d = duration_usec ?: p->duration_usec;
        size_t out = 0;
        int r;

        if (d < PROGRAM_DURATION_MIN_USEC)
                return -EINVAL;
        /* The roller starts parked at the top, or, on a chair with a body scan, where the scan found the
         * shoulders. */
        c.roller_at = (struct body_point){.from = {.kind = POSITION_TRACK}, .to = {.kind = POSITION_TRACK}};
        if (config && config->has_roller && config->roller.body_sensor != IO_NONE)
                c.roller_at = (struct body_point){
                        .from = {.kind = POSITION_LANDMARK, .landmark = LANDMARK_SHOULDERS},
                        .to = {.kind = POSITION_LANDMARK, .landmark = LANDMARK_SHOULDERS},
                };
        c.roller_from = c.roller_at;
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->program = p;
        t->duration_usec = d;
        t->n_phases = p->n_phases;
        t->phase_start_usec = calloc(p->n_phases + 1, sizeof(usec_t));
        if (!t->phase_start_usec)
                return -ENOMEM;
        c.t = t;

        /* Scale on the cumulative boundaries, so rounding never adds up and the last phase ends on time. */
        for (size_t i = 0; i < p->n_phases; i++)
                t->phase_start_usec[i] = muldiv_u64(p->phases[i].start_usec, d, p->duration_usec);
        t->phase_start_usec[p->n_phases] = d;

        r = collect_zones(&c);
        if (r < 0)
                goto finish;

        for (size_t i = 0; i < p->n_phases; i++) {
                const struct phase *ph = &p->phases[i];
                usec_t start = t->phase_start_usec[i], end = t->phase_start_usec[i + 1];
                struct setpoint *s;

                if (end <= start)
                        continue;
                s = emit(&c, start, TRACK_PHASE);
                if (s)
                        s->phase = i;
                if (ph->recline && (s = emit(&c, start, TRACK_RECLINE)))
                        s->preset = ph->recline;
                if (ph->heat_set && ph->n_heat == 0) /* heat: off */
                        for (size_t z = 0; z < c.n_heat_zones; z++)
                                emit_heat(&c, start, c.heat_zones[z], 0);
                for (size_t k = 0; k < ph->n_heat; k++)
                        emit_heat(&c, start, ph->heat[k].zone, ph->heat[k].level);
                compile_roller(&c, ph, start, end);
                compile_airbags(&c, ph, start, end);
                emit_foot(&c, start, ph->foot.set && !ph->foot.off ? ph->foot.speed : 0);
        }

        /* The end: everything stops; the chair goes upright unless the program lets the person rest. */
        emit_roller_off(&c, d);
        for (size_t z = 0; z < c.n_airbag_zones; z++)
                emit_airbag(&c, d, c.airbag_zones[z], VALVE_VENT, 0);
        for (size_t z = 0; z < c.n_heat_zones; z++)
                emit_heat(&c, d, c.heat_zones[z], 0);
        emit_foot(&c, d, 0);
        if (p->uses_recline && p->at_end == AT_END_UPRIGHT) {
                struct setpoint *s = emit(&c, d, TRACK_RECLINE);
                if (s)
                        s->preset = PRESET_UPRIGHT;
        }
        r = c.error;
        if (r < 0)
                goto finish;

        qsort(t->points, t->n_points, sizeof(*t->points), setpoint_compare);
        r = prune(&c);
        if (r < 0)
                goto finish;

        for (size_t i = 0; i < t->n_points; i++)
                if (timeline_chair_has(config, t->points[i].track))
                        t->points[out++] = t->points[i];
        t->n_points = out;
        *ret = TAKE_PTR(t);
finish:
        free(c.airbag_zones);
        free(c.heat_zones);
        return r;
}

static const char *position_describe(const struct position *p, char *buf, size_t size)
{
        if (p->kind == POSITION_LANDMARK)
                snprintf(buf, size, "%s", landmark_to_string(p->landmark));
        else
                snprintf(buf, size, "%.2f", p->track);
        return buf;
}

const char *setpoint_describe(const struct setpoint *s, const struct program *p, char *buf, size_t size)
{
        unsigned long long ms = (unsigned long long) (s->at_usec / USEC_PER_MSEC);
        char a[32], b[32], tech[128];
        int n = snprintf(buf, size, "%llu.%03llus %s ", ms / 1000, ms % 1000, track_to_string(s->track));

        if (n < 0 || (size_t) n >= size)
                return buf;
        switch (s->track) {
        case TRACK_PHASE:
                snprintf(buf + n, size - n, "%s", p->phases[s->phase].name);
                break;
        case TRACK_RECLINE:
                snprintf(buf + n, size - n, "%s", s->preset);
                break;
        case TRACK_ROLLER:
                if (!s->roller.active)
                        snprintf(buf + n, size - n, "park");
                else
                        snprintf(buf + n, size - n, "%s speed %u depth %u %s %s..%s@%.2f",
                                 techniques_to_string(tech, sizeof(tech), s->roller.technique),
                                 s->roller.speed, s->roller.depth, width_to_string(s->roller.width),
                                 position_describe(&s->roller.target.from, a, sizeof(a)),
                                 position_describe(&s->roller.target.to, b, sizeof(b)),
                                 s->roller.target.fraction);
                break;
        case TRACK_AIRBAG:
                if (s->airbag.valve == VALVE_VENT)
                        snprintf(buf + n, size - n, "%s vent", s->airbag.zone);
                else
                        snprintf(buf + n, size - n, "%s %s %u", s->airbag.zone,
                                 valve_state_to_string(s->airbag.valve), s->airbag.intensity);
                break;
        case TRACK_HEAT:
                snprintf(buf + n, size - n, "%s %u", s->heat.zone, s->heat.level);
                break;
        case TRACK_FOOT:
                snprintf(buf + n, size - n, "%u", s->foot_speed);
                break;
        default:
                break;
        }
        return buf;
}
