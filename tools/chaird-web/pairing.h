/* pairing.h: the phones paired with chaird-web, for its LAN listener. The panel on the chair's own screen
 * asks for a code (six digits, valid two minutes, void after a few wrong tries); a phone that gives it gets
 * a token (a cookie). Only the token's SHA-256 is kept, one line per phone in chaird-web's state directory
 * (written atomically inside its fd), so a copy of the file pairs nothing; the panel can revoke a phone. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "util.h"

#define PAIRING_CODE_DIGITS 6
#define PAIRING_CODE_USEC   (120 * USEC_PER_SEC) /* a code is good this long */
#define PAIRING_CODE_TRIES  5                    /* wrong codes before the code is void */
#define PAIRING_PHONES_MAX  16                   /* phones paired at once */
#define PAIRING_NAME_MAX    40                   /* bytes of a phone's name as kept */
#define PAIRING_TOKEN_CHARS 64                   /* hex digits of a token (32 random bytes) */
#define PAIRING_ID_CHARS    8                    /* hex digits of a phone's id (not secret) */
#define PAIRING_FILE        "paired"

struct pairing;

/* Reads the paired phones from PAIRING_FILE in state_fd (kept; a broken file is set aside as
 * paired.broken and no phone is paired). state_fd is borrowed and must outlive p. */
int pairing_new(int state_fd, struct pairing **ret);
struct pairing *pairing_free(struct pairing *p);
static inline void pairing_freep(struct pairing **p)
{
        pairing_free(*p);
}

/* A new code for the panel to show (replacing any earlier one), good until *ret_expires (CLOCK_MONOTONIC
 * usec) from now. */
int pairing_new_code(struct pairing *p, usec_t now, char code[PAIRING_CODE_DIGITS + 1], usec_t *ret_expires);
/* Whether a code is waiting for a phone now. */
bool pairing_code_open(const struct pairing *p, usec_t now);
/* A phone gives a code: on success a new token in token (NUL-terminated) and its phone's id, the phone saved
 * under name (made printable and short). -EACCES: a wrong code; -ETIME: no code open (none asked, expired,
 * used, or void after too many wrong tries); -ENOSPC: PAIRING_PHONES_MAX are paired; -errno of the write. */
int pairing_pair(struct pairing *p, usec_t now, const char *code, const char *name,
                 char token[PAIRING_TOKEN_CHARS + 1], char id[PAIRING_ID_CHARS + 1]);
/* The id of the phone whose token this is, or NULL. */
const char *pairing_check(const struct pairing *p, const char *token);
/* Forgets a phone: 0, -ENOENT when there is none of that id, or -errno of the write. */
int pairing_revoke(struct pairing *p, const char *id);
/* The phones, as a JSON list of {id, name, paired-at (seconds since the epoch)}. */
json_object *pairing_list(const struct pairing *p);
