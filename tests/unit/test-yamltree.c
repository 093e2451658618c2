/* test-yamltree.c: the bounded YAML loader refuses what could hurt the daemon, at the right spot. */
#include <errno.h>
#include <stdlib.h>

#include "helpers.h"
#include "yamltree.h"

static int load(const char *text, size_t size, char **ret_diags)
{
        struct ydoc *doc = NULL;
        struct diag_list d = {};
        int r = ydoc_load("t.yaml", text, size, NULL, &d, &doc);

        diag_sort(&d);
        *ret_diags = diags_text(&d);
        diag_list_clear(&d);
        ydoc_free(doc);
        return r;
}

static void test_loads_nested_tree_with_positions(void)
{
        const char *text = "a: 1\nb:\n  - x\n  - {c: 'q'}\n";
        struct ydoc *doc = NULL;
        struct diag_list d = {};
        const struct ynode *root, *b, *c;

        CHECK_EQ_U(ydoc_load("t.yaml", text, strlen(text), NULL, &d, &doc), 0);
        if (!doc)
                return;
        root = ydoc_root(doc);
        CHECK(root->type == YNODE_MAPPING);
        CHECK_EQ_U(ynode_n_pairs(root), 2);
        b = ynode_lookup(root, "b");
        CHECK(b && b->type == YNODE_SEQUENCE && b->n_children == 2);
        CHECK_EQ_U(b->children[1]->line, 4);
        CHECK_EQ_U(b->children[1]->column, 5);
        c = ynode_lookup(b->children[1], "c");
        CHECK(c && c->quoted && streq(c->value, "q"));
        CHECK(!ynode_lookup(root, "a")->quoted);
        ydoc_free(doc);
        diag_list_clear(&d);
}

/* Windows Notepad starts a UTF-8 file with a byte-order mark: it is read past, columns as without it. */
static void test_a_byte_order_mark_is_read_past(void)
{
        const char *text = "\xEF\xBB\xBF" /* the hex escape ends with its literal */
                           "a: 1\nb: x\n";
        struct ydoc *doc = NULL;
        struct diag_list d = {};

        CHECK_EQ_U(ydoc_load("t.yaml", text, strlen(text), NULL, &d, &doc), 0);
        CHECK_EQ_U(d.n, 0);
        if (doc) {
                const struct ynode *a = ynode_lookup(ydoc_root(doc), "a");
                CHECK(a && streq(a->value, "1") && a->line == 1 && a->column == 4);
                CHECK(ynode_lookup(ydoc_root(doc), "b"));
        }
        ydoc_free(doc);
        diag_list_clear(&d);
}

static void test_refuses_oversized_input_before_parsing(void)
{
        size_t n = yload_default_limits.max_bytes + 1;
        _cleanup_free_ char *big = malloc(n), *diags = NULL;

        memset(big, '#', n);
        CHECK_EQ_U(load(big, n, &diags), -EINVAL);
        CHECK_STREQ(diags, "1:1: error: file is too large (262145 bytes; the limit is 256 KiB)");
}

static void test_refuses_invalid_utf8_at_its_position(void)
{
        _cleanup_free_ char *diags = NULL;
        const char text[] = "name: ok\ndescription: caf\xc3\xa9 \xff\n";

        CHECK_EQ_U(load(text, sizeof(text) - 1, &diags), -EINVAL);
        CHECK_STREQ(diags, "2:19: error: text is not valid UTF-8 (byte 0xff)");
}

static void test_utf8_check_rejects_overlong_and_surrogates(void)
{
        CHECK_EQ_U(utf8_check((const unsigned char *) "\xc0\xaf", 2), 0);         /* overlong '/' */
        CHECK_EQ_U(utf8_check((const unsigned char *) "ab\xed\xa0\x80", 5), 2);   /* surrogate */
        CHECK_EQ_U(utf8_check((const unsigned char *) "\xf4\x90\x80\x80", 4), 0); /* above U+10FFFF */
        CHECK_EQ_U(utf8_check((const unsigned char *) "\xe2\x82\xac ok", 6), 6);  /* euro sign */
        CHECK_EQ_U(utf8_check((const unsigned char *) "x\xe2\x82", 3), 1);        /* truncated */
}

static void test_refuses_aliases_so_alias_bombs_cannot_expand(void)
{
        _cleanup_free_ char *diags = NULL;
        const char *text = "a: &a [x, x]\nb: &b [*a, *a]\n";

        CHECK_EQ_U(load(text, strlen(text), &diags), -EINVAL);
        CHECK_STREQ(
                diags,
                "2:8: error: aliases (*a) are not supported: write the value out, or use a shared pattern");
}

static void test_refuses_absurd_nesting(void)
{
        char text[256] = "";
        _cleanup_free_ char *diags = NULL;

        for (int i = 0; i < 40; i++)
                strcat(text, "[");
        CHECK_EQ_U(load(text, strlen(text), &diags), -EINVAL);
        CHECK_STREQ(diags, "1:33: error: nesting is deeper than 32 levels");
}

static void test_refuses_too_many_values(void)
{
        size_t n = 30000 * 3 + 3;
        _cleanup_free_ char *text = malloc(n + 1), *diags = NULL;
        size_t k = 0;

        text[k++] = '[';
        for (int i = 0; i < 30000; i++) {
                text[k++] = '1';
                text[k++] = ',';
        }
        text[k++] = '1';
        text[k++] = ']';
        text[k] = '\0';
        CHECK_EQ_U(load(text, k, &diags), -EINVAL);
        CHECK(diags && strstr(diags, "error: file has too many values (the limit is 20000)"));
}

static void test_reports_every_duplicate_key_pointing_to_the_first(void)
{
        _cleanup_free_ char *diags = NULL;
        const char *text = "a: 1\nb: 2\na: 3\nc:\n  x: 1\n  x: 2\n";

        CHECK_EQ_U(load(text, strlen(text), &diags), -EINVAL);
        CHECK_STREQ(diags, "3:1: error: duplicate key 'a' (first given at line 1, column 1)\n"
                           "6:3: error: duplicate key 'x' (first given at line 5, column 3)");
}

static void test_refuses_a_second_document(void)
{
        _cleanup_free_ char *diags = NULL;
        const char *text = "a: 1\n---\nb: 2\n";

        CHECK_EQ_U(load(text, strlen(text), &diags), -EINVAL);
        CHECK_STREQ(diags, "2:1: error: a file holds one YAML document; this is a second one (after '---')");
}

static void test_comment_only_file_is_empty(void)
{
        _cleanup_free_ char *diags = NULL;
        const char *text = "# nothing here\n\n";

        CHECK_EQ_U(load(text, strlen(text), &diags), -EINVAL);
        CHECK_STREQ(diags, "1:1: error: file is empty");
        free(diags);
        diags = NULL;
        CHECK_EQ_U(load("", 0, &diags), -EINVAL);
        CHECK_STREQ(diags, "1:1: error: file is empty");
}

static void test_refuses_nul_inside_text_and_non_text_keys(void)
{
        _cleanup_free_ char *d1 = NULL, *d2 = NULL;
        const char *nul = "a: \"x\\0y\"\n", *key = "? [a]\n: 1\n";

        CHECK_EQ_U(load(nul, strlen(nul), &d1), -EINVAL);
        CHECK_STREQ(d1, "1:4: error: text contains a NUL character");
        CHECK_EQ_U(load(key, strlen(key), &d2), -EINVAL);
        CHECK_STREQ(d2, "1:3: error: a key must be plain text, not a list");
}

static void test_syntax_error_names_the_problem_and_place(void)
{
        _cleanup_free_ char *diags = NULL;
        const char *text = "a: [1, 2\nb: 3\n";

        CHECK_EQ_U(load(text, strlen(text), &diags), -EINVAL);
        CHECK(diags && strncmp(diags, "2:2: error: YAML syntax: ", 25) == 0);
}

/* The usual mistakes, in plain words at the line where the fix goes. */
static void test_usual_syntax_mistakes_are_said_plainly(void)
{
        static const struct {
                const char *text, *diag;
        } cases[] = {
                {"a: 1\nb:\n\tc: 2\n",
                 "3:1: error: YAML syntax: a tab indents this line: tabs cannot indent "
                 "YAML; use spaces"},
                {"name: X\nduration:5m\nphases: []\n",
                 "2:10: error: YAML syntax: a colon after a key needs a space: write 'duration: 5m'"},
                {"name: X\ndescription: Relax: then sleep\n",
                 "2:14: error: YAML syntax: this value has a colon and a space in it, which starts a key: "
                 "quote the value, e.g. description: 'Relax: then sleep'"},
                /* The quoted value stops before a comment, and keeps its quotes as YAML reads them. */
                {"name: He said 'hi': ok # a comment\n", "1:7: error: YAML syntax: this value has a colon "
                                                         "and a space in it, which starts a key: quote "
                                                         "the value, e.g. name: 'He said ''hi'': ok'"},
                /* A tab in a block of text is text: the mistake is the one libyaml stopped at. */
                {"description: |\n  one\n  \ttwo\nduration:5m\nphases: []\n",
                 "4:10: error: YAML syntax: a colon after a key needs a space: write 'duration: 5m'"},
                {"phases:\n  - name: a\n     heat: 1\n",
                 "3:6: error: YAML syntax: 'heat' starts at column 6, but 'name' on line 2 at column 5: the "
                 "keys of one mapping must line up; indent 'heat' like 'name'"},
                {"phases:\n  - name: a\n    heat: 1\n   roller: 2\n",
                 "4:4: error: YAML syntax: 'roller' starts at column 4, but 'heat' on line 3 at column 5: "
                 "the keys of one mapping must line up; indent 'roller' like 'heat'"},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *diags = NULL;
                CHECK_EQ_U(load(cases[i].text, strlen(cases[i].text), &diags), -EINVAL);
                CHECK_STREQ(diags, cases[i].diag);
        }
        /* An unclosed bracket is said as libyaml says it, with where it opened, not as a key out of line. */
        _cleanup_free_ char *flow = NULL;
        const char *text = "phases:\n  - name: a\n    roller: {technique: [kneading\n  - name: b\n";
        CHECK_EQ_U(load(text, strlen(text), &flow), -EINVAL);
        CHECK(flow && strstr(flow, "(it starts at line 3, column 25)") && !strstr(flow, "line up"));
        if (tap_case_failed)
                printf("# %s\n", flow);
}

/* A syntax error at the end of a file of many lines is explained in time linear in its size (the loader
 * runs inside chaird for ValidateProgram, under a 2 s watchdog): 200000 lines, then the mistake. Not timed
 * (machines are noisy): done quadratically it takes minutes, which the test's timeout turns into a
 * failure. */
static void test_explaining_a_syntax_error_is_linear(void)
{
        size_t n = 200000, size = n + 64;
        _cleanup_free_ char *text = malloc(size), *diags = NULL;
        struct ydoc *doc = NULL;
        struct diag_list d = {};
        struct yload_limits big = yload_default_limits;

        CHECK(text != NULL);
        if (!text)
                return;
        memset(text, '\n', n);
        snprintf(text + n, size - n, "name: a: b\n  key: 1\n");
        big.max_bytes = size;
        CHECK_EQ_U(ydoc_load("t.yaml", text, strlen(text), &big, &d, &doc), -EINVAL);
        diag_sort(&d);
        diags = diags_text(&d);
        CHECK(diags && strstr(diags, "200001:7: error: YAML syntax: this value has a colon"));
        diag_list_clear(&d);
        ydoc_free(doc);
}

RUN_TESTS(T(test_loads_nested_tree_with_positions), T(test_a_byte_order_mark_is_read_past),
          T(test_refuses_oversized_input_before_parsing), T(test_refuses_invalid_utf8_at_its_position),
          T(test_utf8_check_rejects_overlong_and_surrogates),
          T(test_refuses_aliases_so_alias_bombs_cannot_expand), T(test_refuses_absurd_nesting),
          T(test_refuses_too_many_values), T(test_reports_every_duplicate_key_pointing_to_the_first),
          T(test_refuses_a_second_document), T(test_comment_only_file_is_empty),
          T(test_refuses_nul_inside_text_and_non_text_keys),
          T(test_syntax_error_names_the_problem_and_place), T(test_usual_syntax_mistakes_are_said_plainly),
          T(test_explaining_a_syntax_error_is_linear))
