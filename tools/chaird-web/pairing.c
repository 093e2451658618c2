/* pairing.c: codes for the panel, hashed tokens for phones, one file in chaird-web's state directory. */
#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "files.h"
#include "pairing.h"
#include "yamltree.h"

#define HASH_CHARS  64   /* hex digits of a SHA-256 */
#define FILE_MAX    8192 /* PAIRING_PHONES_MAX lines, with room */
#define LINE_FIELDS 4    /* id, hash, paired-at, name */

struct phone {
        char id[PAIRING_ID_CHARS + 1];
        char hash[HASH_CHARS + 1];
        uint64_t paired_at; /* seconds since the epoch */
        char name[PAIRING_NAME_MAX + 1];
};

struct pairing {
        int state_fd;
        struct phone phones[PAIRING_PHONES_MAX];
        size_t n_phones;
        char code[PAIRING_CODE_DIGITS + 1]; /* "" when none is open */
        usec_t code_expires;
        unsigned wrong_tries;
};

static int random_bytes(void *buf, size_t size)
{
        ssize_t n = getrandom(buf, size, 0);

        if (n < 0)
                return -errno;
        return (size_t) n == size ? 0 : -EIO;
}

static void hex(const unsigned char *bytes, size_t size, char *out)
{
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < size; i++) {
                out[2 * i] = digits[bytes[i] >> 4];
                out[2 * i + 1] = digits[bytes[i] & 15];
        }
        out[2 * size] = '\0';
}

static int token_hash(const char *token, char out[HASH_CHARS + 1])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned size = 0;

        if (!EVP_Digest(token, strlen(token), md, &size, EVP_sha256(), NULL) || size * 2 != HASH_CHARS)
                return -EIO;
        hex(md, size, out);
        return 0;
}

static bool all_hex(const char *s, size_t n)
{
        if (strlen(s) != n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!strchr("0123456789abcdef", s[i]))
                        return false;
        return true;
}

/* A name as kept: control characters made spaces, at most PAIRING_NAME_MAX bytes cut at a character's end,
 * valid UTF-8; "phone" when nothing is left. */
static void name_clean(const char *name, char out[PAIRING_NAME_MAX + 1])
{
        size_t n = 0;

        for (const char *c = name ?: ""; *c && n < PAIRING_NAME_MAX; c++)
                out[n++] = (unsigned char) *c < 0x20 || *c == 0x7f ? ' ' : *c;
        out[n] = '\0';
        n = utf8_check((const unsigned char *) out, n); /* a character cut at the end goes */
        out[n] = '\0';
        while (n > 0 && out[n - 1] == ' ')
                out[--n] = '\0';
        char *start = out + strspn(out, " ");
        memmove(out, start, strlen(start) + 1);
        if (!*out)
                strcpy(out, "phone");
}

static int pairing_save(struct pairing *p)
{
        char text[FILE_MAX];
        size_t len = 0;

        for (size_t i = 0; i < p->n_phones; i++) {
                const struct phone *ph = &p->phones[i];
                int n = snprintf(text + len, sizeof(text) - len, "%s %s %" PRIu64 " %s\n", ph->id, ph->hash,
                                 ph->paired_at, ph->name);
                if (n < 0 || (size_t) n >= sizeof(text) - len)
                        return -EFBIG;
                len += (size_t) n;
        }
        return write_file_atomic_at(p->state_fd, PAIRING_FILE, text, len, 0600);
}

static int pairing_load(struct pairing *p)
{
        _cleanup_free_ char *text = NULL;
        bool aside = false, whole, clean;
        unsigned damaged = 0;
        int r = read_kept_file(p->state_fd, PAIRING_FILE, FILE_MAX, &text, &aside);

        if (aside)
                fprintf(stderr,
                        "chaird-web: %s was not a regular file of at most %d bytes: set aside as %s.broken; "
                        "no phone is paired\n",
                        PAIRING_FILE, FILE_MAX, PAIRING_FILE);
        if (r == -ENOENT || aside)
                return 0;
        if (r < 0)
                return r;
        char *at = text, *end = text + r, *line;
        while ((line = text_next_line(&at, end, &whole, &clean))) {
                struct phone ph = {};
                char *fields[LINE_FIELDS] = {}, *save = NULL;
                fields[0] = strtok_r(line, " ", &save);
                fields[1] = fields[0] ? strtok_r(NULL, " ", &save) : NULL;
                fields[2] = fields[1] ? strtok_r(NULL, " ", &save) : NULL;
                fields[3] = fields[2] ? save : NULL;
                if (!whole || !clean || !fields[3] || !all_hex(fields[0], PAIRING_ID_CHARS) ||
                    !all_hex(fields[1], HASH_CHARS) || p->n_phones == PAIRING_PHONES_MAX) {
                        damaged++;
                        continue;
                }
                strcpy(ph.id, fields[0]);
                strcpy(ph.hash, fields[1]);
                ph.paired_at = strtoull(fields[2], NULL, 10);
                name_clean(fields[3], ph.name);
                p->phones[p->n_phones++] = ph;
        }
        if (damaged > 0)
                fprintf(stderr, "chaird-web: %s: %u damaged line(s) left out\n", PAIRING_FILE, damaged);
        return 0;
}

int pairing_new(int state_fd, struct pairing **ret)
{
        struct pairing *p = calloc(1, sizeof(*p));
        int r;

        if (!p)
                return -ENOMEM;
        p->state_fd = state_fd;
        (void) remove_atomic_temps(state_fd);
        r = pairing_load(p);
        if (r < 0) {
                free(p);
                return r;
        }
        *ret = p;
        return 0;
}

struct pairing *pairing_free(struct pairing *p)
{
        if (p)
                explicit_bzero(p, sizeof(*p)); /* the open code */
        free(p);
        return NULL;
}

int pairing_new_code(struct pairing *p, usec_t now, char code[PAIRING_CODE_DIGITS + 1], usec_t *ret_expires)
{
        uint32_t n;
        int r;

        /* Uniform over the codes: numbers past the largest multiple of a million are drawn again. */
        do {
                r = random_bytes(&n, sizeof(n));
                if (r < 0)
                        return r;
        } while (n >= UINT32_MAX - UINT32_MAX % 1000000);
        snprintf(p->code, sizeof(p->code), "%06" PRIu32, n % 1000000);
        p->code_expires = now + PAIRING_CODE_USEC;
        p->wrong_tries = 0;
        strcpy(code, p->code);
        *ret_expires = p->code_expires;
        return 0;
}

bool pairing_code_open(const struct pairing *p, usec_t now)
{
        return p->code[0] && now < p->code_expires;
}

int pairing_pair(struct pairing *p, usec_t now, const char *code, const char *name,
                 char token[PAIRING_TOKEN_CHARS + 1], char id[PAIRING_ID_CHARS + 1])
{
        unsigned char bytes[PAIRING_TOKEN_CHARS / 2], id_bytes[PAIRING_ID_CHARS / 2];
        struct phone ph = {};
        int r;

        if (!pairing_code_open(p, now))
                return -ETIME;
        if (!code || strlen(code) != PAIRING_CODE_DIGITS ||
            CRYPTO_memcmp(code, p->code, PAIRING_CODE_DIGITS) != 0) {
                if (++p->wrong_tries >= PAIRING_CODE_TRIES)
                        p->code[0] = '\0'; /* void: the panel asks for a new one */
                return -EACCES;
        }
        p->code[0] = '\0'; /* used */
        if (p->n_phones == PAIRING_PHONES_MAX)
                return -ENOSPC;
        if ((r = random_bytes(bytes, sizeof(bytes))) < 0 ||
            (r = random_bytes(id_bytes, sizeof(id_bytes))) < 0)
                return r;
        hex(bytes, sizeof(bytes), token);
        hex(id_bytes, sizeof(id_bytes), ph.id);
        explicit_bzero(bytes, sizeof(bytes));
        r = token_hash(token, ph.hash);
        if (r < 0)
                return r;
        ph.paired_at = now_realtime_usec() / USEC_PER_SEC;
        name_clean(name, ph.name);
        p->phones[p->n_phones++] = ph;
        r = pairing_save(p);
        if (r < 0) {
                p->n_phones--; /* not kept, not paired */
                explicit_bzero(token, PAIRING_TOKEN_CHARS + 1);
                return r;
        }
        strcpy(id, ph.id);
        return 0;
}

const char *pairing_check(const struct pairing *p, const char *token)
{
        char hash[HASH_CHARS + 1];

        if (!token || !all_hex(token, PAIRING_TOKEN_CHARS) || token_hash(token, hash) < 0)
                return NULL;
        for (size_t i = 0; i < p->n_phones; i++)
                if (CRYPTO_memcmp(hash, p->phones[i].hash, HASH_CHARS) == 0)
                        return p->phones[i].id;
        return NULL;
}

int pairing_revoke(struct pairing *p, const char *id)
{
        for (size_t i = 0; i < p->n_phones; i++)
                if (streq(p->phones[i].id, id)) {
                        struct phone gone = p->phones[i];
                        memmove(p->phones + i, p->phones + i + 1,
                                (p->n_phones - i - 1) * sizeof(*p->phones));
                        p->n_phones--;
                        int r = pairing_save(p);
                        if (r < 0) { /* still paired: put it back */
                                memmove(p->phones + i + 1, p->phones + i,
                                        (p->n_phones - i) * sizeof(*p->phones));
                                p->phones[i] = gone;
                                p->n_phones++;
                        }
                        return r;
                }
        return -ENOENT;
}

json_object *pairing_list(const struct pairing *p)
{
        json_object *list = json_object_new_array();

        for (size_t i = 0; list && i < p->n_phones; i++) {
                json_object *o = json_object_new_object();
                if (!o)
                        break;
                json_object_object_add(o, "id", json_object_new_string(p->phones[i].id));
                json_object_object_add(o, "name", json_object_new_string(p->phones[i].name));
                json_object_object_add(o, "paired-at",
                                       json_object_new_int64((int64_t) p->phones[i].paired_at));
                json_object_array_add(list, o);
        }
        return list;
}
