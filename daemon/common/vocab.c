/* vocab.c: the massage vocabulary, one table per enum. */
#include <stdio.h>

#include "vocab.h"

DEFINE_STRING_TABLE(technique, enum technique, _TECHNIQUE_MAX, "kneading", "tapping", "clapping", "shiatsu",
                    "rolling", "swedish")
DEFINE_STRING_TABLE(width, enum width, _WIDTH_MAX, "narrow", "medium", "wide")
DEFINE_STRING_TABLE(landmark, enum landmark, _LANDMARK_MAX, "neck", "shoulders", "upper-back", "mid-back",
                    "lumbar", "hips", "thighs")
DEFINE_STRING_TABLE(airbag_pattern, enum airbag_pattern, _AIRBAG_PATTERN_MAX, "wave", "alternate", "pulse",
                    "hold")
DEFINE_STRING_TABLE(valve_state, enum valve_state, _VALVE_STATE_MAX, "vent", "hold", "inflate")
DEFINE_STRING_TABLE(at_end, enum at_end, _AT_END_MAX, PRESET_UPRIGHT, "stay")

const char *const standard_presets[] = {PRESET_UPRIGHT, "zero-gravity-1", "zero-gravity-2", "flat", NULL};
const char *const standard_airbag_zones[] = {"shoulders", "arms",   "hands",  "waist", "hips",
                                             "seat",      "thighs", "calves", "feet",  NULL};
const char *const standard_heat_zones[] = {"lumbar", "back", "seat", "calves", "feet", NULL};

const char *techniques_to_string(char *buf, size_t size, unsigned set)
{
        size_t len = 0;

        buf[0] = '\0';
        for (int t = 0; t < _TECHNIQUE_MAX && len < size; t++)
                if (set & TECHNIQUE_BIT(t))
                        len += (size_t) snprintf(buf + len, size - len, "%s%s", len ? "+" : "",
                                                 technique_to_string((enum technique) t));
        return buf;
}
