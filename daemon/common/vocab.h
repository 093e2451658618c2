/* vocab.h: the massage vocabulary: techniques, landmarks, widths, airbag patterns, standard names. */
#pragma once

#include "util.h"

/* Defines name##_names[] and the to/from string functions for an enum whose values index the table. */
#define DECLARE_STRING_TABLE(name, type)                                                                    \
        extern const char *const name##_names[];                                                            \
        const char *name##_to_string(type v);                                                               \
        int name##_from_string(const char *s) /* the value, or -1 */

#define DEFINE_STRING_TABLE(name, type, max, ...)                                                           \
        const char *const name##_names[] = {__VA_ARGS__, NULL};                                             \
        _Static_assert(ELEMENTSOF(name##_names) == (max) + 1, #name " table does not match its enum");      \
        const char *name##_to_string(type v)                                                                \
        {                                                                                                   \
                return (unsigned) v < (max) ? name##_names[v] : NULL;                                       \
        }                                                                                                   \
        int name##_from_string(const char *s)                                                               \
        {                                                                                                   \
                for (int i = 0; i < (max); i++)                                                             \
                        if (streq(name##_names[i], s))                                                      \
                                return i;                                                                   \
                return -1;                                                                                  \
        }

/* A session's intensity; the default is the program as written, and each step above or below it moves depth
 * and airbag pressure one level. */
#define INTENSITY_MIN     1
#define INTENSITY_MAX     5
#define INTENSITY_DEFAULT 3

enum technique {
        TECHNIQUE_KNEADING,
        TECHNIQUE_TAPPING,
        TECHNIQUE_CLAPPING,
        TECHNIQUE_SHIATSU,
        TECHNIQUE_ROLLING,
        TECHNIQUE_SWEDISH,
        _TECHNIQUE_MAX,
};
DECLARE_STRING_TABLE(technique, enum technique);

/* A combination of techniques is a bit set: 1u << TECHNIQUE_x. */
#define TECHNIQUE_BIT(t) (1u << (t))
#define TECHNIQUES_ALL   ((1u << _TECHNIQUE_MAX) - 1)
/* Tapping and clapping share the percussion motor; shiatsu, rolling and swedish are ways of moving along
 * the track and exclude one another. */
#define TECHNIQUES_PERCUSSION (TECHNIQUE_BIT(TECHNIQUE_TAPPING) | TECHNIQUE_BIT(TECHNIQUE_CLAPPING))
#define TECHNIQUES_STROKE                                                                                   \
        (TECHNIQUE_BIT(TECHNIQUE_SHIATSU) | TECHNIQUE_BIT(TECHNIQUE_ROLLING) |                              \
         TECHNIQUE_BIT(TECHNIQUE_SWEDISH))

/* "kneading+tapping" into buf. */
const char *techniques_to_string(char *buf, size_t size, unsigned set);

enum width {
        WIDTH_NARROW,
        WIDTH_MEDIUM,
        WIDTH_WIDE,
        _WIDTH_MAX,
};
DECLARE_STRING_TABLE(width, enum width);

/* Body landmarks along the roller track, from the top. */
enum landmark {
        LANDMARK_NECK,
        LANDMARK_SHOULDERS,
        LANDMARK_UPPER_BACK,
        LANDMARK_MID_BACK,
        LANDMARK_LUMBAR,
        LANDMARK_HIPS,
        LANDMARK_THIGHS,
        _LANDMARK_MAX,
};
DECLARE_STRING_TABLE(landmark, enum landmark);

enum airbag_pattern {
        AIRBAG_PATTERN_WAVE,
        AIRBAG_PATTERN_ALTERNATE,
        AIRBAG_PATTERN_PULSE,
        AIRBAG_PATTERN_HOLD,
        _AIRBAG_PATTERN_MAX,
};
DECLARE_STRING_TABLE(airbag_pattern, enum airbag_pattern);

enum valve_state {
        VALVE_VENT,
        VALVE_HOLD,
        VALVE_INFLATE,
        _VALVE_STATE_MAX,
};
DECLARE_STRING_TABLE(valve_state, enum valve_state);

/* What the chair does with its recline when a program ends. */
enum at_end {
        AT_END_UPRIGHT,
        AT_END_STAY,
        _AT_END_MAX,
};
DECLARE_STRING_TABLE(at_end, enum at_end);

/* The preset every chair with a recline has: where a program starts and, unless at-end: stay, ends. */
#define PRESET_UPRIGHT "upright"

/* Names a program may use when it is checked without a hardware config (NULL-terminated). */
extern const char *const standard_presets[];
extern const char *const standard_airbag_zones[];
extern const char *const standard_heat_zones[];
