/*
 * Text and Markdown renderings of a struct advice_list (the JSON one is
 * advice_list_json). They compute nothing: each advice is its summary,
 * its SQL, its confidence, its reasoning and its evidence's numbers, in
 * the order advice_list_sort left them.
 */
#include "advise/advice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* Appends the evidence's scalar members as "key value" pairs joined by sep. */
static void evidence_line(struct buf *out, const json_t *e, const char *sep, bool code)
{
    const char *key;
    json_t *v;
    bool first = true;
    json_object_foreach((json_t *)e, key, v)
    {
        if (json_is_object(v) || (json_is_array(v) && json_array_size(v) > 8) ||
            strcmp(key, "query") == 0 || strcmp(key, "longest_holders") == 0)
            continue;
        if (!first)
            buf_addstr(out, sep);
        first = false;
        buf_addf(out, "%s%s=", code ? "`" : "", key);
        if (json_is_string(v)) {
            buf_addstr(out, json_string_value(v));
        } else if (json_is_integer(v)) {
            buf_addf(out, "%lld", (long long)json_integer_value(v));
        } else if (json_is_real(v)) {
            double d = json_real_value(v);
            buf_addf(out, d == (double)(long long)d || d >= 100 || d <= -100 ? "%.0f" : "%.3g", d);
        } else {
            char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            buf_addstr(out, s ? s : "?");
            free(s);
        }
        if (code)
            buf_addch(out, '`');
    }
}

static void indent_lines(struct buf *out, const char *text, const char *prefix)
{
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, "\n");
        buf_addf(out, "%s%.*s\n", prefix, (int)n, p);
        p += n;
        if (*p)
            p++;
    }
}

void advice_render_text(struct buf *out, const struct advice_list *l, const char *target)
{
    buf_addf(out, "sleuth advise: %s\n", target);
    if (l->n == 0)
        buf_addstr(out, "\nNo advice: nothing in the statistics calls for a change.\n");
    for (size_t i = 0; i < l->n; i++) {
        const struct advice *a = &l->items[i];
        buf_addf(out, "\n%zu. [%s, %s confidence %.2f] %s\n", i + 1, advice_kind_name(a->kind),
                 advice_confidence_word(a->confidence), a->confidence,
                 a->summary ? a->summary : "");
        if (a->sql)
            indent_lines(out, a->sql, "     ");
        if (a->reasoning) {
            buf_addstr(out, "   why: ");
            buf_addstr(out, a->reasoning);
            buf_addch(out, '\n');
        }
        buf_addstr(out, "   evidence: ");
        evidence_line(out, a->evidence, ", ", false);
        buf_addch(out, '\n');
    }
    if (json_array_size(l->notes)) {
        buf_addstr(out, "\nNotes:\n");
        size_t i;
        json_t *n;
        json_array_foreach(l->notes, i, n)
        {
            buf_addf(out, "  - %s\n", json_string_value(n));
        }
    }
}

void advice_render_markdown(struct buf *out, const struct advice_list *l, const char *target)
{
    buf_addf(out, "# sleuth advise: %s\n", target);
    if (l->n == 0)
        buf_addstr(out, "\nNo advice: nothing in the statistics calls for a change.\n");
    for (size_t i = 0; i < l->n; i++) {
        const struct advice *a = &l->items[i];
        buf_addf(out, "\n## %zu. %s\n\n", i + 1, a->summary ? a->summary : "");
        buf_addf(out, "*%s*, confidence **%s** (%.2f)\n\n", advice_kind_name(a->kind),
                 advice_confidence_word(a->confidence), a->confidence);
        if (a->sql)
            buf_addf(out, "```sql\n%s\n```\n\n", a->sql);
        if (a->reasoning)
            buf_addf(out, "%s\n\n", a->reasoning);
        buf_addstr(out, "Evidence: ");
        evidence_line(out, a->evidence, ", ", true);
        buf_addch(out, '\n');
    }
    if (json_array_size(l->notes)) {
        buf_addstr(out, "\n## Notes\n\n");
        size_t i;
        json_t *n;
        json_array_foreach(l->notes, i, n)
        {
            buf_addf(out, "- %s\n", json_string_value(n));
        }
    }
}
