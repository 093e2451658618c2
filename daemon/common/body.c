/* body.c: positions along the roller track, as body landmarks or fractions of the track. */
#include <errno.h>
#include <strings.h>

#include "body.h"

/* The landmark meant by a word people use for a part of the back, or NULL: what a spelling suggestion
 * would miss ("lower-back" is closest to "upper-back" in spelling, and means the lumbar). */
static const char *landmark_meant(const char *word)
{
        static const struct {
                const char *word, *landmark;
        } words[] = {
                {"lower-back", "lumbar"},
                {"low-back", "lumbar"},
                {"small-of-back", "lumbar"},
                {"waist", "lumbar"},
                {"loin", "lumbar"},
                {"middle-back", "mid-back"},
                {"shoulder", "shoulders"},
                {"shoulder-blades", "upper-back"},
                {"nape", "neck"},
                {"glutes", "hips"},
                {"buttocks", "hips"},
                {"bottom", "hips"},
                {"seat", "hips"},
                {"thigh", "thighs"},
                {"hip", "hips"},
        };

        for (size_t i = 0; i < ELEMENTSOF(words); i++)
                if (strcasecmp(word, words[i].word) == 0)
                        return words[i].landmark;
        return NULL;
}

int parse_position(struct parse_ctx *ctx, const struct ynode *node, const char *what, struct position *ret)
{
        char list[256];
        double v;
        int l;

        if (!expect_type(ctx, node, YNODE_SCALAR, what))
                return -EINVAL;
        *ret = (struct position){.mark = ynode_mark(node)};
        if (!node->quoted && parse_number(node->value, &v) == 0) {
                if (v < 0.0 || v > 1.0) {
                        parse_error(ctx, node,
                                    "%s %s is off the track (a fraction of the track is 0.0 to 1.0)", what,
                                    node->value);
                        return -EINVAL;
                }
                ret->kind = POSITION_TRACK;
                ret->track = v;
                return 0;
        }
        l = landmark_from_string(node->value);
        if (l < 0) {
                const char *guess = landmark_meant(node->value) ?: closest_name(node->value, landmark_names);
                if (guess)
                        parse_error(ctx, node, "unknown landmark '%s' in %s; did you mean '%s'?",
                                    node->value, what, guess);
                else
                        parse_error(ctx, node,
                                    "unknown landmark '%s' in %s (expected %s, or a fraction of the track "
                                    "from 0.0 to 1.0)",
                                    node->value, what, join_names(list, sizeof(list), landmark_names));
                return -EINVAL;
        }
        ret->kind = POSITION_LANDMARK;
        ret->landmark = (enum landmark) l;
        return 0;
}

double position_mm(const struct position *p, const struct roller_geometry *g, double shoulder_mm)
{
        if (p->kind == POSITION_TRACK)
                return p->track * g->track_mm;
        return shoulder_mm + g->landmark_mm[p->landmark];
}

double position_resolve(const struct position *p, const struct roller_geometry *g, double shoulder_mm)
{
        double f = position_mm(p, g, shoulder_mm) / g->track_mm;
        return f < 0.0 ? 0.0 : f > 1.0 ? 1.0 : f;
}

double body_point_resolve(const struct body_point *b, const struct roller_geometry *g, double shoulder_mm)
{
        double a = position_resolve(&b->from, g, shoulder_mm), z = position_resolve(&b->to, g, shoulder_mm);
        return a + b->fraction * (z - a);
}
