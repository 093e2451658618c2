/* body.h: positions along the roller track, as body landmarks or fractions of the track. */
#pragma once

#include "config.h"
#include "schema.h"

enum position_kind {
        POSITION_LANDMARK, /* relative to the shoulders the body scan found */
        POSITION_TRACK,    /* a fixed fraction of the track */
};

struct position {
        enum position_kind kind;
        enum landmark landmark; /* POSITION_LANDMARK */
        double track;           /* POSITION_TRACK: 0.0 is the top (neck) end, 1.0 the bottom end */
        struct mark mark;
};

/* Parses a landmark name or a number from 0.0 to 1.0. what names it in messages. */
int parse_position(struct parse_ctx *ctx, const struct ynode *node, const char *what, struct position *ret);

/* Millimetres from the top of the track, for the shoulders at shoulder_mm; not clamped. */
double position_mm(const struct position *p, const struct roller_geometry *g, double shoulder_mm);

/* The fraction of the track (0.0-1.0, clamped to the track) a position is at. */
double position_resolve(const struct position *p, const struct roller_geometry *g, double shoulder_mm);

/* A point between two positions: from + fraction * (to - from), resolved at run time once the body scan has
 * found the shoulders. The compiled timeline speaks in these, so it does not depend on the person. */
struct body_point {
        struct position from, to;
        double fraction;
};

double body_point_resolve(const struct body_point *b, const struct roller_geometry *g, double shoulder_mm);
