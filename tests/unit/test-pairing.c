/* test-pairing: chaird-web's paired phones on a virtual clock, in a temporary folder: a code good for two
 * minutes and once, void after five wrong tries; only a token's hash kept, the file read back after a
 * restart; revoking; names made safe; a broken file set aside. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "busjson.h"
#include "pairing.h"
#include "tap.h"

static char dir[64];
static int dir_fd = -1;
static const usec_t T0 = 1000 * USEC_PER_SEC; /* the virtual clock's start */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path);
}

static void setup(void)
{
        snprintf(dir, sizeof(dir), "/tmp/test-pairing-XXXXXX");
        if (!mkdtemp(dir))
                abort();
        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                abort();
}

static void teardown(void)
{
        close(dir_fd);
        nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static char *kept(void)
{
        char *text = NULL;
        return read_file_at(dir_fd, PAIRING_FILE, 65536, &text) < 0 ? NULL : text;
}

/* Pairs one phone with a fresh code; its token in token. */
static int pair_one(struct pairing *p, usec_t now, const char *name, char *token, char *id)
{
        char code[PAIRING_CODE_DIGITS + 1];
        usec_t expires;

        if (pairing_new_code(p, now, code, &expires) < 0)
                return -EIO;
        return pairing_pair(p, now, code, name, token, id);
}

static void a_code_is_good_two_minutes_and_once(void)
{
        _cleanup_(pairing_freep) struct pairing *p = NULL;
        char code[PAIRING_CODE_DIGITS + 1], token[PAIRING_TOKEN_CHARS + 1], id[PAIRING_ID_CHARS + 1];
        usec_t expires;

        setup();
        CHECK(pairing_new(dir_fd, &p) == 0);
        CHECK(!pairing_code_open(p, T0));
        CHECK(pairing_pair(p, T0, "000000", "x", token, id) == -ETIME);
        CHECK(pairing_new_code(p, T0, code, &expires) == 0);
        CHECK_EQ_U(strlen(code), PAIRING_CODE_DIGITS);
        CHECK_EQ_U(strspn(code, "0123456789"), PAIRING_CODE_DIGITS);
        CHECK_EQ_U(expires, T0 + PAIRING_CODE_USEC);
        CHECK(pairing_code_open(p, T0 + PAIRING_CODE_USEC - 1));
        /* Past its two minutes, the right code pairs nothing. */
        CHECK(pairing_pair(p, T0 + PAIRING_CODE_USEC, code, "late", token, id) == -ETIME);
        CHECK(pairing_new_code(p, T0, code, &expires) == 0);
        CHECK(pairing_pair(p, T0 + 60 * USEC_PER_SEC, code, "anna", token, id) == 0);
        CHECK_EQ_U(strlen(token), PAIRING_TOKEN_CHARS);
        CHECK_STREQ(pairing_check(p, token), id);
        /* Used once: the same code again is refused. */
        CHECK(pairing_pair(p, T0 + 61 * USEC_PER_SEC, code, "again", token, id) == -ETIME);
        teardown();
}

static void five_wrong_tries_void_the_code(void)
{
        _cleanup_(pairing_freep) struct pairing *p = NULL;
        char code[PAIRING_CODE_DIGITS + 1], wrong[PAIRING_CODE_DIGITS + 1], token[PAIRING_TOKEN_CHARS + 1],
                id[PAIRING_ID_CHARS + 1];
        usec_t expires;

        setup();
        CHECK(pairing_new(dir_fd, &p) == 0);
        CHECK(pairing_new_code(p, T0, code, &expires) == 0);
        strcpy(wrong, code);
        wrong[0] = wrong[0] == '9' ? '0' : (char) (wrong[0] + 1); /* another code */
        for (int i = 0; i < PAIRING_CODE_TRIES - 1; i++)
                CHECK(pairing_pair(p, T0, wrong, "guess", token, id) == -EACCES);
        CHECK(pairing_code_open(p, T0));
        CHECK(pairing_pair(p, T0, "12345", "short", token, id) == -EACCES); /* the fifth */
        CHECK(!pairing_code_open(p, T0));
        CHECK(pairing_pair(p, T0, code, "right but late", token, id) == -ETIME);
        CHECK(kept() == NULL); /* nobody paired: no file */
        teardown();
}

static void only_the_hash_is_kept_and_read_back(void)
{
        _cleanup_(pairing_freep) struct pairing *p = NULL, *again = NULL;
        char token[PAIRING_TOKEN_CHARS + 1], id[PAIRING_ID_CHARS + 1], other[PAIRING_TOKEN_CHARS + 1],
                other_id[PAIRING_ID_CHARS + 1], hash[65];
        unsigned char md[32];
        unsigned size = 0;
        struct stat st;

        setup();
        CHECK(pairing_new(dir_fd, &p) == 0);
        CHECK(pair_one(p, T0, "anna", token, id) == 0);
        CHECK(pair_one(p, T0, "ben", other, other_id) == 0);
        CHECK(strcmp(token, other) != 0);
        _cleanup_free_ char *text = kept();
        CHECK(text && !strstr(text, token) && !strstr(text, other));
        EVP_Digest(token, strlen(token), md, &size, EVP_sha256(), NULL);
        for (unsigned i = 0; i < size; i++)
                snprintf(hash + 2 * i, 3, "%02x", md[i]);
        CHECK(text && strstr(text, hash));
        CHECK(fstatat(dir_fd, PAIRING_FILE, &st, 0) == 0 && (st.st_mode & 0777) == 0600);
        /* After a restart the same tokens are good, and nothing else. */
        CHECK(pairing_new(dir_fd, &again) == 0);
        CHECK_STREQ(pairing_check(again, token), id);
        CHECK_STREQ(pairing_check(again, other), other_id);
        CHECK(pairing_check(again, hash) == NULL); /* the hash itself is no token */
        CHECK(pairing_check(again, "") == NULL);
        CHECK(pairing_check(again, NULL) == NULL);
        _cleanup_json_ json_object *list = pairing_list(again);
        CHECK_EQ_U(json_object_array_length(list), 2);
        CHECK_STREQ(
                json_object_get_string(json_object_object_get(json_object_array_get_idx(list, 1), "name")),
                "ben");
        teardown();
}

static void a_revoked_phone_is_refused_and_forgotten(void)
{
        _cleanup_(pairing_freep) struct pairing *p = NULL, *again = NULL;
        char token[PAIRING_TOKEN_CHARS + 1], id[PAIRING_ID_CHARS + 1], other[PAIRING_TOKEN_CHARS + 1],
                other_id[PAIRING_ID_CHARS + 1];

        setup();
        CHECK(pairing_new(dir_fd, &p) == 0);
        CHECK(pair_one(p, T0, "anna", token, id) == 0);
        CHECK(pair_one(p, T0, "ben", other, other_id) == 0);
        CHECK(pairing_revoke(p, id) == 0);
        CHECK(pairing_check(p, token) == NULL);
        CHECK_STREQ(pairing_check(p, other), other_id);
        CHECK(pairing_revoke(p, id) == -ENOENT);
        CHECK(pairing_new(dir_fd, &again) == 0);
        CHECK(pairing_check(again, token) == NULL);
        CHECK_STREQ(pairing_check(again, other), other_id);
        teardown();
}

static void names_are_made_safe_and_the_phones_bounded(void)
{
        _cleanup_(pairing_freep) struct pairing *p = NULL, *again = NULL;
        char token[PAIRING_TOKEN_CHARS + 1], id[PAIRING_ID_CHARS + 1];

        setup();
        CHECK(pairing_new(dir_fd, &p) == 0);
        /* A newline would make a line of its own in the file; a long name is cut at a character's end. */
        CHECK(pair_one(p, T0, "evil\nffffffff 0000 1 x", token, id) == 0);
        CHECK(pair_one(p, T0, "   ", token, id) == 0);
        CHECK(pair_one(p, T0, "Jürgen's Handy with a very very long name ü", token, id) == 0);
        for (int i = 3; i < PAIRING_PHONES_MAX; i++)
                CHECK(pair_one(p, T0, "more", token, id) == 0);
        CHECK(pair_one(p, T0, "one too many", token, id) == -ENOSPC);
        CHECK(pairing_new(dir_fd, &again) == 0);
        _cleanup_json_ json_object *list = pairing_list(again);
        CHECK_EQ_U(json_object_array_length(list), PAIRING_PHONES_MAX);
        const char *first =
                json_object_get_string(json_object_object_get(json_object_array_get_idx(list, 0), "name"));
        CHECK_STREQ(first, "evil ffffffff 0000 1 x");
        CHECK_STREQ(
                json_object_get_string(json_object_object_get(json_object_array_get_idx(list, 1), "name")),
                "phone");
        const char *long_name =
                json_object_get_string(json_object_object_get(json_object_array_get_idx(list, 2), "name"));
        CHECK(long_name && strlen(long_name) <= PAIRING_NAME_MAX &&
              strncmp(long_name, "Jürgen's Handy", 15) == 0);
        teardown();
}

static void a_broken_file_is_set_aside(void)
{
        _cleanup_(pairing_freep) struct pairing *p = NULL;
        char token[PAIRING_TOKEN_CHARS + 1], id[PAIRING_ID_CHARS + 1];
        struct stat st;

        setup();
        CHECK(mkfifoat(dir_fd, PAIRING_FILE, 0600) == 0);
        CHECK(pairing_new(dir_fd, &p) == 0); /* does not block */
        CHECK(fstatat(dir_fd, PAIRING_FILE ".broken", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
              S_ISFIFO(st.st_mode));
        CHECK(pair_one(p, T0, "anna", token, id) == 0);
        CHECK(fstatat(dir_fd, PAIRING_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode));
        teardown();
}

static void damaged_lines_are_left_out(void)
{
        _cleanup_(pairing_freep) struct pairing *p = NULL, *again = NULL;
        char token[PAIRING_TOKEN_CHARS + 1], id[PAIRING_ID_CHARS + 1];

        setup();
        CHECK(pairing_new(dir_fd, &p) == 0);
        CHECK(pair_one(p, T0, "anna", token, id) == 0);
        _cleanup_free_ char *text = kept();
        char *more = NULL;
        CHECK(asprintf(&more, "junk\n%snothex zz 1 x\n12345678 cut", text) > 0);
        CHECK(write_file_atomic_at(dir_fd, PAIRING_FILE, more, strlen(more), 0600) == 0);
        free(more);
        CHECK(pairing_new(dir_fd, &again) == 0);
        CHECK_STREQ(pairing_check(again, token), id);
        _cleanup_json_ json_object *list = pairing_list(again);
        CHECK_EQ_U(json_object_array_length(list), 1);
        teardown();
}

int main(void)
{
        static const struct test_case tests[] = {
                T(a_code_is_good_two_minutes_and_once),
                T(five_wrong_tries_void_the_code),
                T(only_the_hash_is_kept_and_read_back),
                T(a_revoked_phone_is_refused_and_forgotten),
                T(names_are_made_safe_and_the_phones_bounded),
                T(a_broken_file_is_set_aside),
                T(damaged_lines_are_left_out),
        };
        return tap_run(tests, ELEMENTSOF(tests));
}
