/* frontend.c: Capabilities and Session as a{sv}: every name and range from the config, the vocabulary tables
 * and the engine, none written here twice. */
#include <errno.h>
#include <stdio.h>

#include "busdict.h"
#include "chair.h"
#include "engine.h"
#include "frontend.h"
#include "profiles.h"
#include "timeline.h"

static int append_strv(sd_bus_message *m, const char *key, const char *const *l)
{
        int r = bus_dict_open_array(m, key, "as");

        for (size_t i = 0; r >= 0 && l && l[i]; i++)
                r = sd_bus_message_append(m, "s", l[i]);
        return r < 0 ? r : bus_dict_close_array(m);
}

static int append_range(sd_bus_message *m, const char *key, unsigned lo, unsigned hi)
{
        return sd_bus_message_append(m, "{sv}", key, "(uu)", lo, hi);
}

int frontend_append_capabilities(sd_bus_message *m, const struct chair_config *c)
{
        const char *techniques[_TECHNIQUE_MAX + 1] = {}, *widths[_WIDTH_MAX + 1] = {};
        const char *areas[_LANDMARK_MAX + 8] = {}, *axes[_AXIS_MAX + 1] = {};
        size_t n = 0;
        int r;

        if (c->has_roller) {
                for (unsigned t = 0; t < _TECHNIQUE_MAX; t++)
                        if (c->roller.techniques & TECHNIQUE_BIT(t))
                                techniques[n++] = technique_to_string(t);
                if (c->roller.width >= 0) /* without a width output the width cannot be set */
                        for (unsigned w = 0; w < _WIDTH_MAX; w++)
                                widths[w] = width_to_string(w);
                n = 0;
                for (size_t i = 0; program_area_name(i, NULL, NULL); i++)
                        areas[n++] = program_area_name(i, NULL, NULL);
                for (unsigned l = 0; l < _LANDMARK_MAX; l++)
                        areas[n++] = landmark_to_string(l);
        }
        n = 0;
        for (unsigned a = 0; a < _AXIS_MAX; a++)
                if (c->axis[a])
                        axes[n++] = axis_to_string(a);

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = append_strv(m, "techniques", techniques);
        if (r >= 0)
                r = append_strv(m, "widths", widths);
        if (r >= 0)
                r = append_range(m, "speed", c->has_roller ? 1 : 0, c->has_roller ? ROLLER_SPEED_MAX : 0);
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "depth-levels", "u",
                                          c->has_roller ? c->roller.depth_levels : 0);
        if (r >= 0)
                r = append_strv(m, "areas", areas);
        if (r >= 0)
                r = append_strv(m, "airbag-zones", (const char *const *) c->airbag_zones);
        if (r >= 0)
                r = append_strv(m, "airbag-patterns", c->airbag_zones ? airbag_pattern_names : NULL);
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "foot-roller-levels", "u",
                                          c->has_foot_rollers ? FOOT_SPEED_MAX : 0);
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "heat-levels", "u", c->n_heaters > 0 ? HEAT_LEVELS : 0);
        if (r >= 0)
                r = append_strv(m, "heat-zones", (const char *const *) c->heat_zones);
        if (r >= 0)
                r = append_strv(m, "presets", (const char *const *) c->preset_names);
        if (r >= 0)
                r = append_strv(m, "axes", axes);
        if (r >= 0)
                r = append_range(m, "shoulders",
                                 c->has_roller ? (unsigned) c->roller.geometry.shoulder_min_mm : 0,
                                 c->has_roller ? (unsigned) c->roller.geometry.shoulder_max_mm : 0);
        if (r >= 0)
                r = append_range(m, "intensity", INTENSITY_MIN, INTENSITY_MAX);
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "session-cap", "t", c->safety.session_cap_usec);
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "manual-duration", "t",
                                          c->sessions.manual_duration_usec);
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "profiles-max", "u", c->sessions.profiles_max);
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "positions-max", "u", PROFILE_POSITIONS_MAX);
        return r < 0 ? r : sd_bus_message_close_container(m);
}

/* A position as a program writes it: a landmark's name or a fraction of the track. */
static const char *position_text(const struct position *p, char *buf, size_t size)
{
        if (p->kind == POSITION_LANDMARK)
                return landmark_to_string(p->landmark);
        snprintf(buf, size, "%.2f", p->track);
        return buf;
}

static bool same_position(const struct position *a, const struct position *b)
{
        return a->kind == b->kind &&
               (a->kind == POSITION_LANDMARK ? a->landmark == b->landmark : a->track == b->track);
}

/* The roller as it works now: the phase's, with the person's adjustment on top. */
static int append_roller(sd_bus_message *m, const struct roller_phase *rp, const struct engine_adjust *adj)
{
        char techniques[128], from_buf[16], to_buf[16];
        struct position from = adj->area ? adj->from : rp->from, to = adj->area ? adj->to : rp->to;
        const char *area = NULL;
        int r;

        for (size_t i = 0; !area && program_area_name(i, NULL, NULL); i++) {
                struct position af, at;
                const char *name = program_area_name(i, &af, &at);
                if (same_position(&af, &from) && same_position(&at, &to))
                        area = name;
        }
        if (!area && same_position(&from, &to) && from.kind == POSITION_LANDMARK)
                area = landmark_to_string(from.landmark);
        r = bus_dict_open_array(m, "roller", "a{sv}");
        if (r >= 0)
                r = sd_bus_message_append(
                        m, "{sv}", "technique", "s",
                        techniques_to_string(techniques, sizeof(techniques), rp->technique));
        if (r >= 0 && rp->pattern_name)
                r = sd_bus_message_append(m, "{sv}", "pattern", "s", rp->pattern_name);
        if (r >= 0 && area)
                r = sd_bus_message_append(m, "{sv}", "area", "s", area);
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "from", "s",
                                          position_text(&from, from_buf, sizeof(from_buf)));
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "to", "s", position_text(&to, to_buf, sizeof(to_buf)));
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "speed", "u", adj->speed ?: rp->speed);
        if (r >= 0)
                r = sd_bus_message_append(
                        m, "{sv}", "width", "s",
                        width_to_string(adj->width >= 0 ? (enum width) adj->width : rp->width));
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "depth", "u", adj->depth ?: rp->depth);
        return r < 0 ? r : bus_dict_close_array(m);
}

static int append_airbags(sd_bus_message *m, const struct airbag_phase *ap, const struct engine_adjust *adj)
{
        int r = bus_dict_open_array(m, "airbags", "a{sv}");
        if (r >= 0)
                r = append_strv(m, "zones", (const char *const *) ap->zones);
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "pattern", "s", airbag_pattern_to_string(ap->pattern));
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "intensity", "u",
                                          adj->airbag_intensity ?: ap->intensity);
        return r < 0 ? r : bus_dict_close_array(m);
}

/* What runs now: each track as the last phase up to this one that set it left it, the adjustment on top;
 * a track that is off is left out. */
static int append_settings(sd_bus_message *m, const struct daemon *d, const struct daemon_session *s)
{
        const struct program *p = s->program;
        const struct roller_phase *roller = NULL;
        const struct airbag_phase *airbags = NULL;
        const struct chair_config *c = daemon_config(d);
        unsigned foot = 0;
        int r;

        for (size_t i = 0; s->has_phase && i <= s->phase && i < p->n_phases; i++) {
                const struct phase *ph = &p->phases[i];
                if (ph->roller.set)
                        roller = ph->roller.off ? NULL : &ph->roller;
                if (ph->airbags.set)
                        airbags = ph->airbags.off ? NULL : &ph->airbags;
                if (ph->foot.set)
                        foot = ph->foot.off ? 0 : ph->foot.speed;
        }
        if (s->adjustment->foot >= 0 && s->has_phase)
                foot = (unsigned) s->adjustment->foot;
        r = bus_dict_open_array(m, "settings", "a{sv}");
        if (r >= 0 && roller && c->has_roller)
                r = append_roller(m, roller, s->adjustment);
        if (r >= 0 && airbags && c->airbag_zones)
                r = append_airbags(m, airbags, s->adjustment);
        if (r >= 0 && c->has_foot_rollers)
                r = sd_bus_message_append(m, "{sv}", "foot-rollers", "u", foot);
        if (r >= 0)
                r = bus_dict_open_array(m, "heat", "a{su}");
        for (size_t h = 0; r >= 0 && h < c->n_heaters; h++)
                r = sd_bus_message_append(m, "{su}", c->heaters[h].zone,
                                          chair_heat_level(daemon_chair(d), h));
        if (r >= 0)
                r = bus_dict_close_array(m);
        return r < 0 ? r : bus_dict_close_array(m);
}

/* The person's changes, as Adjust took them (its keys only). */
static int append_adjustments(sd_bus_message *m, const struct engine_adjust *adj)
{
        char from[16], to[16];
        int r = bus_dict_open_array(m, "adjustments", "a{sv}");
        if (r >= 0 && adj->speed)
                r = sd_bus_message_append(m, "{sv}", "speed", "u", adj->speed);
        if (r >= 0 && adj->width >= 0)
                r = sd_bus_message_append(m, "{sv}", "width", "s", width_to_string((enum width) adj->width));
        if (r >= 0 && adj->depth)
                r = sd_bus_message_append(m, "{sv}", "depth", "u", adj->depth);
        if (r >= 0 && adj->area)
                r = sd_bus_message_append(m, "{sv}", "from", "s",
                                          position_text(&adj->from, from, sizeof(from)));
        if (r >= 0 && adj->area)
                r = sd_bus_message_append(m, "{sv}", "to", "s", position_text(&adj->to, to, sizeof(to)));
        if (r >= 0 && adj->airbag_intensity)
                r = sd_bus_message_append(m, "{sv}", "airbag-intensity", "u", adj->airbag_intensity);
        if (r >= 0 && adj->foot >= 0)
                r = sd_bus_message_append(m, "{sv}", "foot-rollers", "u", (unsigned) adj->foot);
        return r < 0 ? r : bus_dict_close_array(m);
}

int frontend_append_session(sd_bus_message *m, const struct daemon *d)
{
        struct daemon_session s;
        int r;

        daemon_session(d, &s);
        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0 || !s.program)
                return r < 0 ? r : sd_bus_message_close_container(m);
        r = sd_bus_message_append(m, "{sv}", "kind", "s", s.manual ? "manual" : "program");
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "program", "s", s.program->id);
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "profile", "s", s.profile);
        if (r >= 0)
                r = bus_dict_open_array(m, "phases", "a(st)");
        for (size_t i = 0; r >= 0 && i < s.program->n_phases; i++)
                r = sd_bus_message_append(m, "(st)", s.program->phases[i].name,
                                          s.timeline && i < s.timeline->n_phases
                                                  ? s.timeline->phase_start_usec[i]
                                                  : s.program->phases[i].start_usec);
        if (r >= 0)
                r = bus_dict_close_array(m);
        if (r >= 0 && s.has_phase)
                r = sd_bus_message_append(m, "{sv}", "phase", "u", (uint32_t) s.phase);
        if (r >= 0)
                r = append_settings(m, d, &s);
        if (r >= 0)
                r = append_adjustments(m, s.adjustment);
        if (r >= 0 && s.ends_at_usec)
                r = sd_bus_message_append(m, "{sv}", "ends-at", "t", s.ends_at_usec);
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "remaining-usec", "t", s.remaining_usec);
        return r < 0 ? r : sd_bus_message_close_container(m);
}
