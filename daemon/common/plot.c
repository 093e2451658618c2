/* plot.c: a picture of a program's timeline as SVG, one lane per track (chairctl plot, chaird-web). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"
#include "util.h"

/* Layout, in SVG user units (pixels at 100%). */
#define WIDTH    1200.0
#define LEFT     220.0 /* lane titles (left-aligned) and row labels (right-aligned) live left of this */
#define RIGHT    30.0
#define PLOT_W   (WIDTH - LEFT - RIGHT)
#define BAND_H   26.0
#define ROLLER_H 170.0
#define DEPTH_H  70.0
#define ROW_H    18.0
#define GAP      14.0
/* About how wide a character of 11px sans-serif is: labels longer than their box are cut to fit. */
#define CHAR_W 7.0

static const char *const technique_color[_TECHNIQUE_MAX] = {
        [TECHNIQUE_KNEADING] = "#d95f02", [TECHNIQUE_TAPPING] = "#7570b3", [TECHNIQUE_CLAPPING] = "#e7298a",
        [TECHNIQUE_SHIATSU] = "#1b9e77",  [TECHNIQUE_ROLLING] = "#66a61e", [TECHNIQUE_SWEDISH] = "#1f78b4",
};
static const char *const valve_color[_VALVE_STATE_MAX] = {
        [VALVE_VENT] = "none",
        [VALVE_HOLD] = "#9ecae1",
        [VALVE_INFLATE] = "#3182bd",
};
/* Heat level 0 (off) to HEAT_LEVELS, from none to the hottest. */
static const char *const heat_color[] = {"none", "#fdd49e", "#fc8d59", "#d7301f"};
_Static_assert(ELEMENTSOF(heat_color) == HEAT_LEVELS + 1, "heat_color has a colour per heat level");

struct plot {
        FILE *f;
        const struct program *p;
        const struct timeline *t;
        const struct roller_geometry *g;
        const struct chair_config *config; /* NULL: the reference chair */
        double y;                          /* where the next lane starts */
};

static double x_of(const struct plot *pl, usec_t at)
{
        return LEFT + PLOT_W * (double) at / (double) pl->t->duration_usec;
}

/* Writes s with XML's special characters escaped. */
static void xml_text(FILE *f, const char *s)
{
        for (; *s; s++)
                switch (*s) {
                case '<':
                        fputs("&lt;", f);
                        break;
                case '>':
                        fputs("&gt;", f);
                        break;
                case '&':
                        fputs("&amp;", f);
                        break;
                case '"':
                        fputs("&quot;", f);
                        break;
                default:
                        fputc(*s, f);
                }
}

static void label(struct plot *pl, double x, double y, const char *cls, const char *anchor, const char *text)
{
        fprintf(pl->f, "<text class=\"%s\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">", cls, x, y, anchor);
        xml_text(pl->f, text);
        fputs("</text>\n", pl->f);
}

/* A label that fits in width: a longer text is cut with an ellipsis, and its <title> keeps the full text
 * (shown on hover). data-fit says the width it had, for the tests. */
static void fitted_label(struct plot *pl, double x, double y, double width, const char *cls,
                         const char *text)
{
        size_t fits = width > CHAR_W ? (size_t) (width / CHAR_W) : 0, n = strlen(text);

        if (n <= fits) {
                fprintf(pl->f, "<text class=\"%s\" x=\"%.1f\" y=\"%.1f\" data-fit=\"%.1f\">", cls, x, y,
                        width);
                xml_text(pl->f, text);
                fputs("</text>\n", pl->f);
                return;
        }
        if (fits < 2)
                return; /* no room for even one character and the ellipsis */
        fprintf(pl->f, "<g class=\"ellipsized\"><title>");
        xml_text(pl->f, text);
        fprintf(pl->f, "</title><text class=\"%s\" x=\"%.1f\" y=\"%.1f\" data-fit=\"%.1f\">", cls, x, y,
                width);
        /* Cut at a character boundary: never inside a UTF-8 sequence. */
        n = fits - 1;
        while (n > 0 && ((unsigned char) text[n] & 0xc0) == 0x80)
                n--;
        fwrite(text, 1, n, pl->f);
        fputs("\xe2\x80\xa6</text></g>\n", pl->f); /* U+2026, the ellipsis */
}

/* Whether the program uses a track at all. */
static bool program_uses(const struct program *p, enum track track)
{
        if (track == TRACK_RECLINE)
                return p->uses_recline;
        for (size_t i = 0; i < p->n_phases; i++) {
                const struct phase *ph = &p->phases[i];
                if ((track == TRACK_ROLLER && ph->roller.set && !ph->roller.off) ||
                    (track == TRACK_AIRBAG && ph->airbags.set && !ph->airbags.off) ||
                    (track == TRACK_HEAT && ph->heat_set && ph->n_heat > 0) ||
                    (track == TRACK_FOOT && ph->foot.set && !ph->foot.off))
                        return true;
        }
        return false;
}

/* Begins a lane; returns false for a track the program uses but the chair lacks: that lane is drawn grey,
 * says so, and is otherwise empty (the daemon skips the track with a warning). */
static bool lane_begin(struct plot *pl, enum track track, const char *id, const char *title, double height)
{
        bool missing =
                track != _TRACK_MAX && !timeline_chair_has(pl->config, track) && program_uses(pl->p, track);

        fprintf(pl->f, "<g id=\"lane-%s\" class=\"lane%s\">\n", id, missing ? " lane-missing" : "");
        fprintf(pl->f, "<rect class=\"lane-bg\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"%s/>\n",
                LEFT, pl->y, PLOT_W, height, missing ? " style=\"fill:#d9d9d9;stroke:#999999\"" : "");
        fitted_label(pl, 10, pl->y + 16, LEFT - 60, "lane-title", title);
        if (missing)
                fitted_label(pl, LEFT + 8, pl->y + 16, PLOT_W - 16, "lane-missing-note",
                             "not on this chair: the program's steps here are skipped");
        return !missing;
}

static void lane_end(struct plot *pl, double height)
{
        fputs("</g>\n", pl->f);
        pl->y += height + GAP;
}

/* The end of the interval that starts at points[i]: the next setpoint of the same channel, or the end. */
static usec_t until_next(const struct plot *pl, size_t i,
                         bool (*same)(const struct setpoint *, const struct setpoint *))
{
        for (size_t k = i + 1; k < pl->t->n_points; k++)
                if (same(&pl->t->points[i], &pl->t->points[k]))
                        return pl->t->points[k].at_usec;
        return pl->t->duration_usec;
}

static bool same_track(const struct setpoint *a, const struct setpoint *b)
{
        return a->track == b->track;
}

static bool same_zone(const struct setpoint *a, const struct setpoint *b)
{
        const char *za = a->track == TRACK_AIRBAG ? a->airbag.zone : a->heat.zone;
        const char *zb = b->track == TRACK_AIRBAG ? b->airbag.zone : b->heat.zone;
        return a->track == b->track && streq(za, zb);
}

static void lane_phases(struct plot *pl)
{
        lane_begin(pl, _TRACK_MAX, "phases", "Phases", BAND_H);
        for (size_t i = 0; i < pl->t->n_phases; i++) {
                double x0 = x_of(pl, pl->t->phase_start_usec[i]),
                       x1 = x_of(pl, pl->t->phase_start_usec[i + 1]);
                fprintf(pl->f,
                        "<rect class=\"phase\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                        "fill=\"%s\"/>\n",
                        x0, pl->y, x1 - x0, BAND_H, i % 2 ? "#eeeeee" : "#dddddd");
                fitted_label(pl, x0 + 4, pl->y + 17, x1 - x0 - 8, "phase-name", pl->p->phases[i].name);
        }
        lane_end(pl, BAND_H);
}

/* How long the recline takes from preset a (NULL: upright, where a program starts) to b: the config's
 * axes at their travel-time; without a config, a full nominal travel. */
static usec_t recline_move_usec(const struct plot *pl, const char *a, const char *b)
{
        const struct preset_config *from, *to;
        if (!pl->config)
                return RECLINE_TRAVEL_NOMINAL_USEC;
        from = chair_config_find_preset(pl->config, a ?: PRESET_UPRIGHT);
        to = chair_config_find_preset(pl->config, b);
        return from && to ? chair_config_recline_usec(pl->config, from, to, NULL)
                          : RECLINE_TRAVEL_NOMINAL_USEC;
}

static void lane_recline(struct plot *pl)
{
        const char *at = NULL;

        /* A line under the band names what the recline does when the program ends. */
        if (!lane_begin(pl, TRACK_RECLINE, "recline", "Recline", BAND_H + 14)) {
                lane_end(pl, BAND_H + 14);
                return;
        }
        for (size_t i = 0; i < pl->t->n_points; i++) {
                const struct setpoint *s = &pl->t->points[i];
                double x0, xm, x1;
                usec_t move;

                if (s->track != TRACK_RECLINE)
                        continue;
                if (s->at_usec == pl->t->duration_usec) {
                        /* The return at the end is an action, not a span: name it at the end of the lane. */
                        char text[128];
                        snprintf(text, sizeof(text), "at the end: %s", s->preset);
                        fitted_label(pl, LEFT + PLOT_W - 200, pl->y + BAND_H + 11, 196, "recline-end", text);
                        continue;
                }
                /* The axes move at their pace (a ramp), then the preset holds. */
                move = recline_move_usec(pl, at, s->preset);
                at = s->preset;
                x0 = x_of(pl, s->at_usec);
                x1 = x_of(pl, until_next(pl, i, same_track));
                xm = fmin(x_of(pl, s->at_usec + move), x1);
                fprintf(pl->f,
                        "<polygon class=\"recline-move\" data-move-usec=\"%llu\" points=\"%.2f,%.1f %.2f,"
                        "%.1f %.2f,%.1f\" fill=\"#a1d99b\"/>\n",
                        (unsigned long long) move, x0, pl->y + BAND_H - 3, xm, pl->y + 3, xm,
                        pl->y + BAND_H - 3);
                fprintf(pl->f,
                        "<rect class=\"recline\" data-preset=\"%s\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" "
                        "height=\"%.1f\" fill=\"#c7e9c0\" stroke=\"#41ab5d\"/>\n",
                        s->preset, xm, pl->y + 3, fmax(x1 - xm, 0.0), BAND_H - 6);
                fitted_label(pl, xm + 4, pl->y + 17, x1 - xm - 8, "recline-preset", s->preset);
        }
        if (pl->p->at_end == AT_END_STAY && pl->p->uses_recline)
                fitted_label(pl, LEFT + PLOT_W - 200, pl->y + BAND_H + 11, 196, "recline-end",
                             "at-end: stay");
        lane_end(pl, BAND_H + 14);
}

/* The colour of a technique set: its stroke (how it travels) if any, otherwise its first technique. */
static const char *techniques_color(unsigned set)
{
        unsigned stroke = set & TECHNIQUES_STROKE;
        unsigned pick = stroke ? stroke : set;
        return pick ? technique_color[__builtin_ctz(pick)] : "#000000";
}

static double roller_y(const struct plot *pl, double top, double fraction)
{
        return top + 8 + (ROLLER_H - 16) * fraction;
}

/* The roller's speed along its track: the config's travel-time over the track, or the nominal speed. */
static double roller_mm_per_sec(const struct plot *pl)
{
        const struct chair_config *c = pl->config;

        if (c && c->has_roller && motor_config_travel_usec(&c->roller.travel) > 0)
                return c->roller.geometry.track_mm * (double) USEC_PER_SEC /
                       (double) motor_config_travel_usec(&c->roller.travel);
        return ROLLER_SPEED_NOMINAL_MM_PER_SEC;
}

/* When the roller's settings (technique, speed, width) next change after points[i], or it stops. */
static usec_t settings_until(const struct plot *pl, size_t i)
{
        const struct roller_setpoint *a = &pl->t->points[i].roller;

        for (size_t k = i + 1; k < pl->t->n_points; k++) {
                const struct setpoint *s = &pl->t->points[k];
                if (s->track == TRACK_ROLLER && (!s->roller.active || s->roller.technique != a->technique ||
                                                 s->roller.speed != a->speed || s->roller.width != a->width))
                        return s->at_usec;
        }
        return pl->t->duration_usec;
}

static void lane_roller(struct plot *pl)
{
        double top = pl->y, prev = 0.0, speed = roller_mm_per_sec(pl); /* parked at the top */
        unsigned last_speed = 0, last_technique = 0;
        int last_width = -1;

        if (!lane_begin(pl, TRACK_ROLLER, "roller", "Roller position", ROLLER_H)) {
                lane_end(pl, ROLLER_H);
                return;
        }
        /* Landmarks for usual shoulders, so the picture reads as a body. */
        for (int l = 0; l < _LANDMARK_MAX; l++) {
                struct position pos = {.kind = POSITION_LANDMARK, .landmark = (enum landmark) l};
                double mm = position_mm(&pos, pl->g, pl->g->shoulder_mm);
                double y;

                if (mm < 0 || mm > pl->g->track_mm)
                        continue;
                y = roller_y(pl, top, mm / pl->g->track_mm);
                fprintf(pl->f,
                        "<line class=\"landmark\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", LEFT,
                        y, LEFT + PLOT_W, y);
                label(pl, LEFT - 8, y + 4, "landmark-name", "end", landmark_to_string((enum landmark) l));
        }
        /* The scales, so a reader (or a test) can turn a slope back into a speed. */
        fprintf(pl->f,
                "<g class=\"roller-path\" data-speed-mm-per-sec=\"%.3f\" data-usec-per-px=\"%.3f\" "
                "data-mm-per-px=\"%.5f\">\n",
                speed, (double) pl->t->duration_usec / PLOT_W, pl->g->track_mm / (ROLLER_H - 16));
        for (size_t i = 0; i < pl->t->n_points; i++) {
                const struct setpoint *s = &pl->t->points[i];
                const struct roller_setpoint *r = &s->roller;
                double target, from, reached, x0, xt, x1, travel_usec;
                char tech[128], text[192];
                unsigned second;

                if (s->track != TRACK_ROLLER)
                        continue;
                if (!r->active) {
                        /* Stopped: the roller goes back to its park at the top. */
                        x0 = x_of(pl, s->at_usec);
                        xt = x0 + prev * pl->g->track_mm / speed * (double) USEC_PER_SEC * PLOT_W /
                                          (double) pl->t->duration_usec;
                        if (prev > 0)
                                fprintf(pl->f,
                                        "<line class=\"roller-park\" x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" "
                                        "y2=\"%.2f\"/>\n",
                                        x0, roller_y(pl, top, prev), fmin(xt, LEFT + PLOT_W),
                                        roller_y(pl, top, 0.0));
                        prev = 0.0;
                        last_technique = 0;
                        continue;
                }
                target = body_point_resolve(&r->target, pl->g, pl->g->shoulder_mm);
                from = prev;
                x0 = x_of(pl, s->at_usec);
                x1 = x_of(pl, until_next(pl, i, same_track));
                /* The roller travels at its speed, then holds where it got to: a step too short for the way
                 * ends short of its target. */
                travel_usec = fabs(target - from) * pl->g->track_mm / speed * (double) USEC_PER_SEC;
                xt = fmin(x0 + travel_usec * PLOT_W / (double) pl->t->duration_usec, x1);
                reached = xt < x1 || x1 <= x0
                                  ? target
                                  : from + (target - from) * (x1 - x0) /
                                                    (travel_usec * PLOT_W / (double) pl->t->duration_usec);
                techniques_to_string(tech, sizeof(tech), r->technique);
                fprintf(pl->f,
                        "<polyline class=\"roller\" data-technique=\"%s\" data-speed=\"%u\" "
                        "data-width=\"%s\" data-depth=\"%u\" points=\"%.2f,%.2f %.2f,%.2f %.2f,%.2f\" "
                        "fill=\"none\" stroke=\"%s\"><title>%s, speed %u, width %s, depth "
                        "%u</title></polyline>\n",
                        tech, r->speed, width_to_string(r->width), r->depth, x0, roller_y(pl, top, from), xt,
                        roller_y(pl, top, reached), x1, roller_y(pl, top, reached),
                        techniques_color(r->technique), tech, r->speed, width_to_string(r->width), r->depth);
                /* A combined technique: the other one dashed over the first. */
                second = r->technique &
                         ~(1u << __builtin_ctz(r->technique & TECHNIQUES_STROKE ?: r->technique));
                if (second)
                        fprintf(pl->f,
                                "<polyline class=\"roller-combined\" data-technique=\"%s\" points=\"%.2f,"
                                "%.2f %.2f,%.2f %.2f,%.2f\" fill=\"none\" stroke=\"%s\" "
                                "stroke-dasharray=\"4,4\"/>\n",
                                technique_to_string((enum technique) __builtin_ctz(second)), x0,
                                roller_y(pl, top, from), xt, roller_y(pl, top, reached), x1,
                                roller_y(pl, top, reached), technique_color[__builtin_ctz(second)]);
                /* Technique, speed and width where they change. */
                if (r->technique != last_technique || r->speed != last_speed ||
                    (int) r->width != last_width) {
                        snprintf(text, sizeof(text), "%s, speed %u, %s", tech, r->speed,
                                 width_to_string(r->width));
                        fitted_label(pl, x0 + 2, top + ROLLER_H - 4,
                                     x_of(pl, settings_until(pl, i)) - x0 - 4, "roller-setting", text);
                }
                last_technique = r->technique;
                last_speed = r->speed;
                last_width = (int) r->width;
                prev = reached;
        }
        fputs("</g>\n", pl->f);
        lane_end(pl, ROLLER_H);
}

/* The height of depth level 1 (the lane's foot) to ROLLER_DEPTH_MAX (its head) in the depth lane at top. */
static double depth_y(double top, unsigned depth)
{
        return top + DEPTH_H - 6 - (DEPTH_H - 12) * (depth - 1.0) / (ROLLER_DEPTH_MAX - 1);
}

static void lane_depth(struct plot *pl)
{
        double top = pl->y;

        if (!lane_begin(pl, TRACK_ROLLER, "depth", "Roller depth", DEPTH_H)) {
                lane_end(pl, DEPTH_H);
                return;
        }
        for (unsigned d = 1; d <= ROLLER_DEPTH_MAX; d++) {
                double y = depth_y(top, d);
                char text[4];
                snprintf(text, sizeof(text), "%u", d);
                label(pl, LEFT - 8, y + 4, "depth-level", "end", text);
        }
        for (size_t i = 0; i < pl->t->n_points; i++) {
                const struct setpoint *s = &pl->t->points[i];
                double x0, x1, y;

                if (s->track != TRACK_ROLLER || !s->roller.active)
                        continue;
                x0 = x_of(pl, s->at_usec);
                x1 = x_of(pl, until_next(pl, i, same_track));
                y = depth_y(top, s->roller.depth);
                fprintf(pl->f, "<line class=\"depth\" x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n",
                        x0, y, x1, y);
        }
        lane_end(pl, DEPTH_H);
}

/* The zones of a zoned track: the config's, in its order, then any others in first-use order. */
static size_t zones_of(const struct plot *pl, enum track track, const char **zones, size_t max)
{
        char **configured = !pl->config             ? NULL
                            : track == TRACK_AIRBAG ? pl->config->airbag_zones
                                                    : pl->config->heat_zones;
        size_t n = 0;

        /* Only the zones the program uses: a row per zone it fills. */
        for (size_t z = 0; configured && configured[z] && n < max; z++)
                for (size_t i = 0; i < pl->t->n_points; i++) {
                        const struct setpoint *s = &pl->t->points[i];
                        if (s->track == track &&
                            streq(configured[z], track == TRACK_AIRBAG ? s->airbag.zone : s->heat.zone)) {
                                zones[n++] = configured[z];
                                break;
                        }
                }

        for (size_t i = 0; i < pl->t->n_points && n < max; i++) {
                const struct setpoint *s = &pl->t->points[i];
                const char *z;
                size_t k;

                if (s->track != track)
                        continue;
                z = track == TRACK_AIRBAG ? s->airbag.zone : s->heat.zone;
                for (k = 0; k < n && !streq(zones[k], z); k++)
                        ;
                if (k == n)
                        zones[n++] = z;
        }
        return n;
}

static void lane_zones(struct plot *pl, enum track track, const char *id, const char *title)
{
        const char *zones[64];
        size_t n = zones_of(pl, track, zones, ELEMENTSOF(zones));
        double h = fmax(1, (double) n) * ROW_H + 8;

        if (!lane_begin(pl, track, id, title, h)) {
                lane_end(pl, h);
                return;
        }
        for (size_t z = 0; z < n; z++)
                fprintf(pl->f,
                        "<text class=\"zone-name\" data-row=\"%zu\" x=\"%.1f\" y=\"%.1f\" "
                        "text-anchor=\"end\">%s</text>\n",
                        z, LEFT - 8, pl->y + 4 + (double) z * ROW_H + ROW_H - 7, zones[z]);
        for (size_t i = 0; i < pl->t->n_points; i++) {
                const struct setpoint *s = &pl->t->points[i];
                const char *fill;
                size_t z;
                double x0, x1, y;

                if (s->track != track)
                        continue;
                for (z = 0; z < n && !streq(zones[z], track == TRACK_AIRBAG ? s->airbag.zone : s->heat.zone);
                     z++)
                        ;
                fill = track == TRACK_AIRBAG ? valve_color[s->airbag.valve] : heat_color[s->heat.level];
                if (streq(fill, "none"))
                        continue;
                x0 = x_of(pl, s->at_usec);
                x1 = x_of(pl, until_next(pl, i, same_zone));
                y = pl->y + 4 + z * ROW_H;
                /* Intensity as opacity, from faint to solid at AIRBAG_INTENSITY_LEVELS, and as a number
                 * where it fits. */
                if (track == TRACK_AIRBAG) {
                        fprintf(pl->f,
                                "<rect class=\"airbag\" data-zone=\"%s\" data-valve=\"%s\" "
                                "data-intensity=\"%u\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" "
                                "fill=\"%s\" fill-opacity=\"%.2f\"><title>%s %s, intensity "
                                "%u</title></rect>\n",
                                s->airbag.zone, valve_state_to_string(s->airbag.valve), s->airbag.intensity,
                                x0, y, x1 - x0, ROW_H - 4, fill,
                                (double) s->airbag.intensity / AIRBAG_INTENSITY_LEVELS, s->airbag.zone,
                                valve_state_to_string(s->airbag.valve), s->airbag.intensity);
                        if (s->airbag.valve == VALVE_INFLATE) {
                                char text[8];
                                snprintf(text, sizeof(text), "%u", s->airbag.intensity);
                                fitted_label(pl, x0 + 2, y + ROW_H - 7, x1 - x0 - 2, "airbag-intensity",
                                             text);
                        }
                } else
                        fprintf(pl->f,
                                "<rect class=\"heat\" data-zone=\"%s\" data-level=\"%u\" x=\"%.2f\" "
                                "y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\"/>\n",
                                s->heat.zone, s->heat.level, x0, y, x1 - x0, ROW_H - 4, fill);
        }
        lane_end(pl, h);
}

static void lane_foot(struct plot *pl)
{
        if (!lane_begin(pl, TRACK_FOOT, "foot", "Foot rollers", ROW_H + 8)) {
                lane_end(pl, ROW_H + 8);
                return;
        }
        for (size_t i = 0; i < pl->t->n_points; i++) {
                const struct setpoint *s = &pl->t->points[i];
                double x0, x1;
                char text[16];

                if (s->track != TRACK_FOOT || s->foot_speed == 0)
                        continue;
                x0 = x_of(pl, s->at_usec);
                x1 = x_of(pl, until_next(pl, i, same_track));
                fprintf(pl->f,
                        "<rect class=\"foot\" data-speed=\"%u\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" "
                        "height=\"%.1f\" fill=\"#bcbddc\"/>\n",
                        s->foot_speed, x0, pl->y + 4, x1 - x0, ROW_H - 4);
                snprintf(text, sizeof(text), "speed %u", s->foot_speed);
                fitted_label(pl, x0 + 4, pl->y + 16, x1 - x0 - 8, "foot-speed", text);
        }
        lane_end(pl, ROW_H + 8);
}

static void time_axis(struct plot *pl, double lanes_top)
{
        double minutes = (double) pl->t->duration_usec / (double) USEC_PER_MINUTE;
        unsigned step = minutes <= 20 ? 1 : minutes <= 60 ? 5 : 10;

        /* Phase boundaries run through every lane. */
        fputs("<g id=\"phase-boundaries\">\n", pl->f);
        for (size_t i = 0; i <= pl->t->n_phases; i++) {
                double x = x_of(pl, pl->t->phase_start_usec[i]);
                fprintf(pl->f,
                        "<line class=\"boundary\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x,
                        lanes_top, x, pl->y - GAP + 6);
        }
        fputs("</g>\n<g id=\"time-axis\">\n", pl->f);
        fprintf(pl->f, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", LEFT,
                pl->y, LEFT + PLOT_W, pl->y);
        for (unsigned m = 0; m <= (unsigned) floor(minutes + 1e-9); m += step) {
                double x = x_of(pl, (usec_t) m * USEC_PER_MINUTE);
                char text[16];

                fprintf(pl->f,
                        "<line class=\"tick-mark\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x,
                        pl->y, x, pl->y + 6);
                snprintf(text, sizeof(text), "%u", m);
                label(pl, x, pl->y + 20, "tick", "middle", text);
        }
        label(pl, LEFT + PLOT_W / 2, pl->y + 40, "axis-title", "middle", "time (minutes)");
        fputs("</g>\n", pl->f);
        pl->y += 56;
}

static void legend_item(struct plot *pl, double *x, const char *kind, const char *color, const char *text)
{
        if (*x > WIDTH - RIGHT - 130) {
                *x = LEFT;
                pl->y += 20;
        }
        if (streq(kind, "line"))
                fprintf(pl->f,
                        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                        "stroke-width=\"3\"/>\n",
                        *x, pl->y - 4, *x + 18, pl->y - 4, color);
        else
                fprintf(pl->f,
                        "<rect x=\"%.1f\" y=\"%.1f\" width=\"18\" height=\"10\" fill=\"%s\" "
                        "stroke=\"#888\"/>\n",
                        *x, pl->y - 9, color);
        label(pl, *x + 24, pl->y, "legend-item", "start", text);
        *x += 24 + 7.5 * (double) strlen(text) + 24;
}

static void legend(struct plot *pl)
{
        double x = LEFT;
        char text[64];

        fputs("<g id=\"legend\">\n", pl->f);
        label(pl, 10, pl->y, "lane-title", "start", "Legend");
        for (int t = 0; t < _TECHNIQUE_MAX; t++)
                legend_item(pl, &x, "line", technique_color[t], technique_to_string((enum technique) t));
        legend_item(pl, &x, "rect", valve_color[VALVE_INFLATE], "airbag inflating");
        legend_item(pl, &x, "rect", valve_color[VALVE_HOLD], "airbag holding");
        for (unsigned l = 1; l <= HEAT_LEVELS; l++) {
                snprintf(text, sizeof(text), "heat level %u", l);
                legend_item(pl, &x, "rect", heat_color[l], text);
        }
        fputs("</g>\n", pl->f);
        pl->y += 20;
}

int plot_svg(FILE *out, const struct program *p, const struct timeline *t, const struct chair_config *config)
{
        struct plot pl = {
                .p = p,
                .t = t,
                .g = config && config->has_roller ? &config->roller.geometry : &roller_geometry_default,
                .config = config,
        };
        _cleanup_free_ char *body = NULL;
        char dur[DURATION_MAX_STR];
        size_t body_size = 0;
        double lanes_top;
        FILE *f;

        /* The picture's height is known only once every lane is drawn: draw into memory first. */
        f = open_memstream(&body, &body_size);
        if (!f)
                return -ENOMEM;
        pl.f = f;
        fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
        fprintf(f, "<text class=\"title\" x=\"%.1f\" y=\"28\">", LEFT);
        xml_text(f, p->name);
        fprintf(f, " (%s, %s)</text>\n", p->id, format_duration(dur, sizeof(dur), t->duration_usec));

        pl.y = 48;
        lanes_top = pl.y;
        lane_phases(&pl);
        lane_recline(&pl);
        lane_roller(&pl);
        lane_depth(&pl);
        lane_zones(&pl, TRACK_AIRBAG, "airbags", "Airbags");
        lane_zones(&pl, TRACK_HEAT, "heat", "Heat");
        lane_foot(&pl);
        time_axis(&pl, lanes_top);
        legend(&pl);
        if (fclose(f) != 0)
                return -ENOMEM;

        fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        fprintf(out,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 "
                "%.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n",
                WIDTH, ceil(pl.y + 10), WIDTH, ceil(pl.y + 10));
        fputs("<style>.lane-bg{fill:#fafafa;stroke:#cccccc}.lane-title{font-weight:bold}"
              ".landmark{stroke:#e0e0e0;stroke-dasharray:2,3}.landmark-name,.depth-level,"
              ".zone-name{fill:#555555;font-size:11px}.roller,.roller-combined{stroke-width:2.5}"
              ".roller-park{stroke:#999999;stroke-dasharray:2,2}.depth{stroke:#444444;stroke-width:2}"
              ".boundary{stroke:#777777;stroke-dasharray:4,3}.axis,.tick-mark{stroke:#333333}"
              ".phase-name{font-size:11px}.recline-end{font-size:11px;fill:#41ab5d}.title{font-size:18px;"
              "font-weight:bold}.lane-missing-note{fill:#555555;font-style:italic}.roller-setting,"
              ".airbag-intensity{font-size:11px}</style>\n",
              out);
        fwrite(body, 1, body_size, out);
        fputs("</svg>\n", out);
        return fflush(out) == 0 && !ferror(out) ? 0 : -EIO;
}
