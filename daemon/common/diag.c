/* diag.c: diagnostics collected while checking a file. */
#include <stdarg.h>

#include "diag.h"

static const char *const severity_table[_SEVERITY_MAX] = {
        [SEVERITY_ERROR] = "error",
        [SEVERITY_WARNING] = "warning",
};

const char *severity_to_string(enum severity s)
{
        return s < _SEVERITY_MAX ? severity_table[s] : NULL;
}

void diag_add(struct diag_list *l, enum severity severity, const char *file, unsigned line, unsigned column,
              const char *fmt, ...)
{
        struct diag *d;
        va_list ap;
        char *msg;
        int r;

        if (severity == SEVERITY_ERROR)
                l->n_errors++;
        else
                l->n_warnings++;

        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0 || grow_array(&l->items, &l->cap, l->n + 1, sizeof(*l->items)) < 0) {
                if (r >= 0)
                        free(msg);
                l->oom = true;
                return;
        }
        d = &l->items[l->n];
        *d = (struct diag){
                .file = strdup(file ? file : "<input>"),
                .line = line,
                .column = column,
                .severity = severity,
                .message = msg,
                .seq = l->n,
        };
        if (!d->file) {
                free(msg);
                l->oom = true;
                return;
        }
        l->n++;
}

static int diag_compare(const void *pa, const void *pb)
{
        const struct diag *a = pa, *b = pb;
        int r = strcmp(a->file, b->file);

        if (r != 0)
                return r;
        if (a->line != b->line)
                return a->line < b->line ? -1 : 1;
        if (a->column != b->column)
                return a->column < b->column ? -1 : 1;
        return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void diag_sort(struct diag_list *l)
{
        if (l->n > 1)
                qsort(l->items, l->n, sizeof(*l->items), diag_compare);
}

char *diag_format(const struct diag *d)
{
        char *s;
        int r;

        if (d->line > 0)
                r = asprintf(&s, "%s:%u:%u: %s: %s", d->file, d->line, d->column,
                             severity_to_string(d->severity), d->message);
        else
                r = asprintf(&s, "%s: %s: %s", d->file, severity_to_string(d->severity), d->message);
        return r < 0 ? NULL : s;
}

void diag_print(const struct diag_list *l, FILE *f)
{
        for (size_t i = 0; i < l->n; i++) {
                _cleanup_free_ char *s = diag_format(&l->items[i]);
                if (s)
                        fprintf(f, "%s\n", s);
        }
        if (l->oom)
                fprintf(f, "error: out of memory: some diagnostics were lost\n");
}

void diag_list_clear(struct diag_list *l)
{
        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].file);
                free(l->items[i].message);
        }
        free(l->items);
        *l = (struct diag_list){};
}
