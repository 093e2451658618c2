/* jsonschema.c: the JSON Schema of a file format, written from the same field tables that parse it, so that
 * editors check what chaird checks and the two cannot drift apart. */
#include <errno.h>
#include <stdio.h>

#include "config.h"
#include "program.h"
#include "schema.h"
#include "wiring.h"

#define LENGTH_RE "^-?[0-9]+(\\\\.[0-9]+)?(mm|cm)$"

static void json_str(FILE *f, const char *s)
{
        fputc('"', f);
        for (; *s; s++) {
                if (*s == '"' || *s == '\\')
                        fputc('\\', f);
                fputc(*s, f);
        }
        fputc('"', f);
}

static void names(FILE *f, const char *const *l, const char *sep, bool quote)
{
        for (size_t i = 0; l[i]; i++) {
                fputs(i ? sep : "", f);
                if (quote)
                        json_str(f, l[i]);
                else
                        fputs(l[i], f);
        }
}

/* A field's literal schema, its placeholders filled in. */
static void literal(FILE *f, const char *s)
{
        static const struct {
                const char *word;
                const char *const *list;
                const char *sep;
                bool quote;
        } holes[] = {
                {"@TECHNIQUES@", technique_names, ",", true},
                {"@TECHNIQUE_RE@", technique_names, "|", false},
                {"@LANDMARKS@", landmark_names, ",", true},
        };

        while (*s) {
                size_t k;
                for (k = 0; k < ELEMENTSOF(holes); k++)
                        if (strncmp(s, holes[k].word, strlen(holes[k].word)) == 0)
                                break;
                if (k < ELEMENTSOF(holes)) {
                        names(f, holes[k].list, holes[k].sep, holes[k].quote);
                        s += strlen(holes[k].word);
                } else
                        fputc(*s++, f);
        }
}

static int object(FILE *f, const struct field *fields, const char *head);

static int value(FILE *f, const struct field *fl)
{
        const struct field *sub = fl->sub_of ? fl->sub_of() : fl->sub;
        int r = 0;

        if (fl->flags & FIELD_OR_OFF)
                fputs("{\"oneOf\":[{\"const\":\"off\"},", f);
        if (fl->schema)
                literal(f, fl->schema);
        else if (fl->shape == SHAPE_OBJECT)
                r = object(f, sub, NULL);
        else if (fl->shape == SHAPE_MAP) {
                fputs("{\"type\":\"object\",", f);
                if (fl->names) { /* only these names, e.g. the axes */
                        fputs("\"propertyNames\":{\"enum\":[", f);
                        names(f, fl->names, ",", true);
                        fputs("]},", f);
                }
                fputs("\"additionalProperties\":", f);
                r = object(f, sub, NULL);
                fputs("}", f);
        } else if (fl->shape == SHAPE_LIST) {
                fputs("{\"type\":\"array\",\"minItems\":1,", f);
                if (fl->max > 0)
                        fprintf(f, "\"maxItems\":%lld,", fl->max);
                fputs("\"items\":", f);
                r = object(f, sub, NULL);
                fputs("}", f);
        } else if (fl->parse == field_string)
                fputs("{\"type\":\"string\"}", f);
        else if (fl->parse == field_bool)
                fputs("{\"type\":\"boolean\"}", f);
        else if (fl->parse == field_uint)
                fprintf(f, "{\"type\":\"integer\",\"minimum\":%lld,\"maximum\":%lld}", fl->min, fl->max);
        else if (fl->parse == field_number)
                fprintf(f, "{\"type\":\"number\",\"%s\":%lld,\"maximum\":%lld}",
                        fl->flags & FIELD_ABOVE_MIN ? "exclusiveMinimum" : "minimum", fl->min, fl->max);
        else if (fl->parse == field_fraction)
                fputs("{\"type\":\"number\",\"minimum\":0,\"maximum\":1}", f);
        else if (fl->parse == field_duration)
                fputs("{\"type\":\"string\",\"minLength\":2,\"pattern\":\"" SCHEMA_DURATION_RE "\"}", f);
        else if (fl->parse == field_length_mm)
                fputs("{\"type\":\"string\",\"pattern\":\"" LENGTH_RE "\"}", f);
        else if (fl->parse == field_enum) {
                fputs("{\"enum\":[", f);
                names(f, fl->names, ",", true);
                fputs("]}", f);
        } else if (fl->parse == field_name_list) {
                fputs("{\"type\":\"array\",\"minItems\":1,\"uniqueItems\":true,\"items\":", f);
                if (fl->names) {
                        fputs("{\"enum\":[", f);
                        names(f, fl->names, ",", true);
                        fputs("]}}", f);
                } else
                        fputs("{\"type\":\"string\"}}", f);
        } else if (wiring_field(fl->parse))
                fputs("{\"$ref\":\"#/$defs/io\"}", f);
        else {
                fprintf(stderr, "chairctl: the field '%s' has no JSON Schema\n", fl->key);
                r = -EINVAL;
        }
        if (fl->flags & FIELD_OR_OFF)
                fputs("]}", f);
        return r;
}

/* A mapping through fields; head, if given, is written first (the root's $schema and title). */
static int object(FILE *f, const struct field *fields, const char *head)
{
        bool any_required = false;
        int r = 0;

        fprintf(f, "{%s\"type\":\"object\",\"additionalProperties\":false,\"properties\":{", head ?: "");
        for (size_t i = 0; fields[i].key && r >= 0; i++) {
                fputs(i ? "," : "", f);
                json_str(f, fields[i].key);
                fputc(':', f);
                r = value(f, &fields[i]);
        }
        fputs("}", f);
        for (size_t i = 0; fields[i].key; i++)
                if (fields[i].flags & FIELD_REQUIRED) {
                        fputs(any_required ? "," : ",\"required\":[", f);
                        json_str(f, fields[i].key);
                        any_required = true;
                }
        fputs(any_required ? "]}" : "}", f);
        return r;
}

int json_schema_write(FILE *f, const char *title, const struct field *fields, const struct field *io)
{
        _cleanup_free_ char *head = NULL;
        size_t size = 0;
        FILE *h = open_memstream(&head, &size);
        int r = 0;

        if (!h)
                return -ENOMEM;
        /* The root is the file's mapping, with the schema's own keys first. */
        fputs("\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"title\":", h);
        json_str(h, title);
        if (io) {
                fputs(",\"$defs\":{\"io\":", h);
                r = object(h, io, NULL);
                fputs("}", h);
        }
        fputs(",", h);
        if (fclose(h) != 0)
                return -ENOMEM;
        if (r >= 0)
                r = object(f, fields, head);
        fputc('\n', f);
        return r;
}
