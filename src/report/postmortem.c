/*
 * The postmortem of one incident (postmortem.h). pm_build turns the
 * incident into a document of sentences, timeline entries, measures and
 * numbers; the three writers below only lay it out. Strings from the log
 * (statements, names) stay raw in the document and are escaped by the
 * writer that prints them.
 */
#include "report/postmortem.h"

#include "advise/advice.h"
#include "detect/config.h"
#include "report/svg.h"
#include "report/web.h"
#include "util/jsonstr.h"
#include "util/tstamp.h"
#include "util/xalloc.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* One line of the timeline. */
struct pm_event {
    int64_t ts_us;    /* 0: no time (a blank to fill in) */
    const char *kind; /* "trigger", "onset", "alert", "detection", "false_lead", ... */
    char *text;       /* the sentence */
    char *code;       /* a statement shown beside it, or NULL */
};

/* A number the document uses, and where it came from. */
struct pm_number {
    const char *name;
    double value;
    const char *unit;
    const char *source;
};

/* A measure or a playbook step: a sentence and, where there is one, the exact command. */
struct pm_step {
    char *text;
    char *code;       /* SQL or a shell command, or NULL */
    const char *lang; /* "sql" or "sh" */
};

struct pm_doc {
    const struct incident *inc;
    const struct cause *top;
    char *title;
    char *root_cause; /* one sentence */
    char *impact;     /* the database's side, in numbers */
    char *users;      /* the users' side, or what would tell it */
    struct pm_event *events;
    size_t nevents;
    char **detail; /* root cause and resolution, one fact a line */
    size_t ndetail;
    struct pm_step *measures, *playbook;
    size_t nmeasures, nplaybook;
    struct pm_number *numbers;
    size_t nnumbers;
    char *sources; /* what the document was written from */
    bool has_web;  /* access logs were given: impact holds the users' side */
    bool web_only; /* the incident is the web tier's own (postmortem_web_incident) */
    struct web_impact web;
};

/* --- building ---------------------------------------------------------------------- */

static char *fmt_time(const struct report *r, int64_t ts_us)
{
    struct buf b = BUF_INIT;
    report_time(r, &b, ts_us);
    return buf_detach(&b, NULL);
}

static void event(struct pm_doc *d, int64_t ts, const char *kind, char *text, const char *code)
{
    d->events = xrealloc(d->events, (d->nevents + 1) * sizeof(*d->events));
    d->events[d->nevents++] =
        (struct pm_event){ ts, kind, text, code && *code ? xstrdup(code) : NULL };
}

static void number(struct pm_doc *d, const char *name, double v, const char *unit,
                   const char *source)
{
    if (!isfinite(v))
        return;
    d->numbers = xrealloc(d->numbers, (d->nnumbers + 1) * sizeof(*d->numbers));
    d->numbers[d->nnumbers++] = (struct pm_number){ name, v, unit, source };
}

static void detail(struct pm_doc *d, char *line)
{
    d->detail = xrealloc(d->detail, (d->ndetail + 1) * sizeof(*d->detail));
    d->detail[d->ndetail++] = line;
}

static void step(struct pm_step **v, size_t *n, char *text, char *code, const char *lang)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[(*n)++] = (struct pm_step){ text, code, lang };
}

static char *dupf(const char *fmt, ...) PRINTF_LIKE(1, 2);
static char *dupf(const char *fmt, ...)
{
    struct buf b = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vaddf(&b, fmt, ap);
    va_end(ap);
    return buf_detach(&b, NULL);
}

static double impact_num(const struct incident *inc, const char *key)
{
    const json_t *v = json_object_get(inc->impact, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *nz(const char *s)
{
    return s ? s : "";
}

/* "schema.table" split for the advice SQL writers. */
static void split_table(const char *qualified, char *schema, size_t cap, const char **table)
{
    const char *dot = strchr(qualified, '.');
    *schema = '\0';
    *table = qualified;
    if (dot && (size_t)(dot - qualified) < cap) {
        memcpy(schema, qualified, (size_t)(dot - qualified));
        schema[dot - qualified] = '\0';
        *table = dot + 1;
    }
}

/* The change in words: "drop_index orders_customer_id_idx on orders by 'migrate'". */
static char *change_words(const struct incident_change *c)
{
    struct buf b = BUF_INIT;
    buf_addstr(&b, sample_change_kind_name(c->kind));
    if (*c->object)
        buf_addf(&b, " %s", c->object);
    if (*c->table && strcmp(c->table, c->object) != 0)
        buf_addf(&b, " on %s", c->table);
    if (*c->detail && c->kind == CHANGE_SETTING)
        buf_addf(&b, " = %s", c->detail);
    if (*c->app)
        buf_addf(&b, " by '%s'", c->app);
    else if (*c->user)
        buf_addf(&b, " by %s", c->user);
    return buf_detach(&b, NULL);
}

static void summary_sentences(const struct report *r, struct pm_doc *d)
{
    const struct incident *inc = d->inc;
    const struct cause *g = d->top;
    char *onset = fmt_time(r, inc->onset_us);
    struct buf b = BUF_INIT;
    if (d->web_only)
        buf_addf(&b, "pages failed or slowed at the web tier%s",
                 inc->suspicions[0].verdict == VERDICT_RULED_OUT ? ", the database ruled out" : "");
    else
        buf_addf(&b, "%s %s", cause_kind_name(g->kind), g->table ? "on " : "");
    if (g->table)
        buf_addstr(&b, g->table);
    buf_addf(&b, ", %s", onset);
    d->title = buf_detach(&b, NULL);

    buf_addf(&b, "%s", g->summary ? g->summary : cause_kind_what(g->kind));
    if (inc->has_trigger) {
        char *w = change_words(&inc->trigger);
        buf_addf(&b, "; it began with %s", w);
        free(w);
    }
    if (g->fix)
        buf_addf(&b, ". The fix: %s", g->fix);
    buf_addch(&b, '.');
    d->root_cause = buf_detach(&b, NULL);

    double extra = impact_num(inc, "database_time_above_normal_s");
    double calls = impact_num(inc, "calls"), errors = impact_num(inc, "errors_logged");
    double refused = impact_num(inc, "connections_refused");
    double before = impact_num(inc, "calls_per_s_before");
    double during = impact_num(inc, "calls_per_s_during");
    buf_addstr(&b, "The database ");
    if (isfinite(extra) && extra > 0)
        buf_addf(&b, "spent %.0f s more executing queries than its normal stretch would have",
                 extra);
    else
        buf_addstr(&b, "spent no more time than usual");
    /* The throughput when it moved (a surge, a collapse): a flat one says nothing. */
    if (isfinite(before) && isfinite(during) && (during >= 1.5 * before || before >= 1.5 * during))
        buf_addf(&b, "; it served %.1f calls a second (%.1f before)", during, before);
    if (isfinite(errors) && errors > 0)
        buf_addf(&b, "; %.0f errors were logged", errors);
    if (isfinite(refused) && refused > 0)
        buf_addf(&b, "; %.0f connections were refused", refused);
    buf_addf(&b, "; peak %.2f s of database time a second", inc->peak_db_s);
    buf_addch(&b, '.');
    d->impact = buf_detach(&b, NULL);
    if (d->web_only) {
        free(d->impact);
        d->impact = dupf("The database: %s.", nz(inc->suspicions[0].evidence));
    }
    if (d->has_web)
        d->users = report_web_impact_text(r, &d->web);
    else
        d->users = xstrdup("Impact on users: cannot tell from these sources. The web server's "
                           "access log (--access) would tell how many requests failed or were "
                           "slow and how many clients saw it.");
    number(d, "database_time_above_normal_s", extra, "s", "incident.impact");
    number(d, "calls", calls, "calls", "incident.impact");
    number(d, "calls_per_s_before", before, "calls/s", "incident.impact");
    number(d, "calls_per_s_during", during, "calls/s", "incident.impact");
    number(d, "errors_logged", errors, "errors", "incident.impact");
    number(d, "connections_refused", refused, "connections", "incident.impact");
    number(d, "peak_db_time_s_per_s", inc->peak_db_s, "s/s", "incident.peak");
    if (d->has_web) {
        const struct web_impact *w = &d->web;
        number(d, "requests", (double)w->requests, "requests", "access log");
        number(d, "requests_failed", (double)w->failed, "requests", "access log: status 5xx");
        number(d, "requests_slow", (double)w->slow, "requests", "access log: request time");
        number(d, "clients", (double)w->clients, "clients", "access log");
        number(d, "clients_hurt", (double)w->clients_hurt, "clients",
               "access log: clients with a failed or slow request");
        number(d, "web_impact_duration_s", (double)(w->window.to_us - w->window.from_us) / 1e6, "s",
               w->from_web ? "access log: failed or slow share" : "incident window");
    }
    free(onset);
}

/*
 * Where an event sorts: its time; a blank at the detection; the recovery
 * after a fix logged within its last second (a statement is logged when it
 * ends, the end is the start of the first normal second).
 */
static int64_t sort_key(const struct incident *inc, const struct pm_event *e)
{
    if (!e->ts_us)
        return inc->detected_us;
    if (strcmp(e->kind, "recovery") == 0 && inc->has_fix && inc->fix.ts_us >= e->ts_us &&
        inc->fix.ts_us < e->ts_us + 1000000)
        return inc->fix.ts_us;
    return e->ts_us;
}

static void timeline(const struct report *r, struct pm_doc *d)
{
    const struct incident *inc = d->inc;
    const struct cause *g = d->top;
    (void)r;
    if (inc->has_trigger) {
        char *w = change_words(&inc->trigger);
        event(d, inc->trigger.ts_us, "trigger",
              dupf("Trigger: %s (tied %s).", w, *inc->trigger.why ? inc->trigger.why : "by time"),
              inc->trigger.statement);
        free(w);
    }
    if (d->web_only)
        event(d, inc->onset_us, "onset",
              xstrdup("Onset: failed or slow pages stood out at the web tier."), NULL);
    else
        event(d, inc->onset_us, "onset",
              dupf("Onset: the first interval off normal (%s).", cause_kind_name(g->kind)), NULL);
    for (size_t i = 0; i < inc->nalerts && i < 5; i++) {
        const struct incident_alert *a = &inc->alerts[i];
        /* An alert's interval can start before the onset the fine timeline placed. */
        event(d, a->since_us > inc->onset_us ? a->since_us : inc->onset_us, "alert",
              dupf("Alert %s (%s): %s", a->kind, a->critical ? "critical" : "warning",
                   nz(a->summary)),
              NULL);
    }
    if (inc->nalerts > 5)
        event(d, inc->alerts[5].since_us, "alert",
              dupf("%zu more alerts joined the incident.", inc->nalerts - 5), NULL);
    if (d->web_only) {
        event(d, inc->detected_us, "detection",
              xstrdup("Detected: no database alert fired; this stretch was found in the access "
                      "log afterwards."),
              NULL);
    } else {
        struct buf b = BUF_INIT;
        buf_addstr(&b, "Detected: ");
        report_duration(&b, inc->detected_us - inc->onset_us);
        buf_addstr(&b, " after the onset.");
        event(d, inc->detected_us, "detection", buf_detach(&b, NULL), NULL);
    }
    struct report_web_lead leads[REPORT_WEB_LEADS];
    bool agrees[REPORT_WEB_LEADS] = { false };
    if (d->has_web)
        report_web_leads(&d->web, leads);
    for (size_t i = 0; i < inc->nsuspicions; i++) {
        const struct suspicion *s = &inc->suspicions[i];
        /* The access log's evidence on the same lead, when it agrees, says it for both. */
        bool told = false;
        for (size_t k = 0; d->has_web && k < REPORT_WEB_LEADS; k++)
            if (strcmp(s->name, leads[k].db_name) == 0 && s->verdict == leads[k].verdict)
                told = agrees[k] = true;
        if (told)
            continue;
        if (s->verdict == VERDICT_RULED_OUT)
            event(d, inc->detected_us, "false_lead",
                  dupf("Ruled out: %s (%s).", s->name, nz(s->evidence)), NULL);
        else if (s->verdict == VERDICT_CANNOT_TELL)
            event(d, inc->detected_us, "false_lead",
                  dupf("Not ruled out: %s (%s).%s%s%s", s->name, nz(s->evidence),
                       s->needs ? " What would tell: " : "", nz(s->needs), s->needs ? "." : ""),
                  NULL);
    }
    if (d->has_web) {
        for (size_t i = 0; i < REPORT_WEB_LEADS; i++) {
            const struct report_web_lead *l = &leads[i];
            event(d, inc->detected_us, "false_lead",
                  dupf("%s: %s (%s%s).",
                       l->verdict == VERDICT_RULED_OUT   ? "Ruled out"
                       : l->verdict == VERDICT_CONFIRMED ? "Confirmed"
                                                         : "Not ruled out",
                       l->name, l->evidence, agrees[i] ? "; server log agrees" : ""),
                  NULL);
            free(l->evidence);
        }
        if (d->web.from_web && !d->web_only) {
            event(
                d, d->web.window.from_us, "users",
                dupf(
                    "Users: failed or slow pages stood out at the web tier (%+.0f s from the onset).",
                    (double)(d->web.window.from_us - inc->onset_us) / 1e6),
                NULL);
            event(d, d->web.window.to_us, "users_recovered",
                  xstrdup("Users: pages back to normal."), NULL);
        }
    }
    event(d, 0, "escalation", xstrdup("Escalation: who was paged, who decided: ____"), NULL);
    if (inc->peak_us)
        event(d, inc->peak_us, "peak",
              dupf("Peak: %.2f s of database time a second.", inc->peak_db_s), NULL);
    if (inc->has_fix) {
        char *w = change_words(&inc->fix);
        event(d, inc->fix.ts_us, "fix",
              dupf("Fix: %s (%s).", w, *inc->fix.why ? inc->fix.why : "by time"),
              inc->fix.statement);
        free(w);
    }
    if (inc->end_us)
        event(d, inc->end_us, "recovery", xstrdup("Recovered: back to normal."), NULL);
    else
        event(d, inc->updated_us, "recovery", xstrdup("Still going on at the end of the data."),
              NULL);
    /* In time order (stable); a blank goes after the detection, where escalation happens. */
    for (size_t i = 1; i < d->nevents; i++) {
        struct pm_event e = d->events[i];
        int64_t t = sort_key(inc, &e);
        size_t j = i;
        for (; j > 0 && sort_key(inc, &d->events[j - 1]) > t; j--)
            d->events[j] = d->events[j - 1];
        d->events[j] = e;
    }
    double ttd = (double)(inc->detected_us - inc->onset_us) / 1e6;
    if (!d->web_only)
        number(d, "time_to_detect_s", ttd, "s", "incident.onset, incident.detected_at");
    if (inc->end_us) {
        number(d, "duration_s", (double)(inc->end_us - inc->onset_us) / 1e6, "s",
               "incident.onset, incident.end");
        if (!d->web_only)
            number(d, "time_to_recover_s", (double)(inc->end_us - inc->detected_us) / 1e6, "s",
                   "incident.detected_at, incident.end");
    }
}

/*
 * One evidence side ("before"/"after") of the top cause as "key value, ...",
 * an object inside it as "object.key value"; unknowns (null) are left out.
 */
static void evidence_side(struct buf *b, const json_t *side, const char *prefix, bool *first)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)side, key, v)
    {
        if (json_is_object(v) && !*prefix) {
            evidence_side(b, v, key, first);
            continue;
        }
        if (!json_is_number(v))
            continue;
        buf_addf(b, "%s%s%s%s %.4g", *first ? "" : ", ", prefix, *prefix ? "." : "", key,
                 json_number_value(v));
        *first = false;
    }
}

static void root_cause_detail(struct pm_doc *d)
{
    const struct cause *g = d->top;
    const struct incident *inc = d->inc;
    if (d->web_only)
        detail(d, dupf("Cause: outside the database: %s.", nz(g->summary)));
    else
        detail(d, dupf("Cause: %s (%s), score %.2f.", cause_kind_name(g->kind),
                       cause_kind_what(g->kind), g->score));
    if (g->query)
        detail(d, dupf("Query: %s", g->query));
    if (g->table) {
        struct buf b = BUF_INIT;
        buf_addf(&b, "Table: %s", g->table);
        if (g->ncolumns) {
            buf_addstr(&b, ", columns ");
            for (size_t i = 0; i < g->ncolumns; i++)
                buf_addf(&b, "%s%s", i ? ", " : "", g->columns[i]);
        }
        if (g->index)
            buf_addf(&b, ", index %s", g->index);
        buf_addch(&b, '.');
        detail(d, buf_detach(&b, NULL));
    }
    const json_t *before = json_object_get(g->evidence, "before");
    const json_t *after = json_object_get(g->evidence, "after");
    if (json_is_object(before) && json_is_object(after)) {
        struct buf b = BUF_INIT;
        bool first = true;
        buf_addstr(&b, "Before: ");
        evidence_side(&b, before, "", &first);
        buf_addstr(&b, ". During: ");
        first = true;
        evidence_side(&b, after, "", &first);
        buf_addch(&b, '.');
        detail(d, buf_detach(&b, NULL));
        number(d, "mean_ms_before", json_number_value(json_object_get(before, "mean_ms")), "ms",
               "causes[0].evidence.before");
        number(d, "mean_ms_during", json_number_value(json_object_get(after, "mean_ms")), "ms",
               "causes[0].evidence.after");
    }
    const json_t *plans = json_object_get(g->evidence, "plans");
    const char *pb =
        json_string_value(json_object_get(json_object_get(plans, "before"), "outline"));
    const char *pa = json_string_value(json_object_get(json_object_get(plans, "after"), "outline"));
    if (pb && pa)
        detail(d, dupf("Plan before: %s. Plan during: %s.", pb, pa));
    const json_t *blocker = json_object_get(g->evidence, "blocker");
    if (json_is_object(blocker))
        detail(d,
               dupf("Blocker: pid %lld ('%s'), transaction open %.0f s, %lld sessions blocked.",
                    (long long)json_integer_value(json_object_get(blocker, "pid")),
                    nz(json_string_value(json_object_get(blocker, "application"))),
                    json_number_value(json_object_get(blocker, "transaction_age_s")),
                    (long long)json_integer_value(json_object_get(blocker, "blocked_sessions"))));
    for (size_t i = 1; i < inc->ncauses && i < 3; i++)
        detail(d, dupf("Also seen: %s: %s", cause_kind_name(inc->causes[i].kind),
                       nz(inc->causes[i].summary)));
    if (inc->has_fix)
        detail(d, dupf("Resolution: %s.", nz(inc->fix.why)));
    else if (inc->end_us)
        detail(d, xstrdup("Resolution: no change was seen to fix it; the numbers went back to "
                          "normal on their own (the load fell, or a fix the data does not show)."));
}

/*
 * Appends the lines of the detectors' defaults (detect_config_dump) whose
 * key is one of names (space-separated): the thresholds as a file sets them.
 */
static void default_settings(const char *names, struct buf *out)
{
    struct detect_config cfg;
    detect_config_init(&cfg);
    struct buf all = BUF_INIT;
    detect_config_dump(&cfg, &all);
    for (const char *line = all.ptr; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
        size_t key = strcspn(line, " =");
        for (const char *n = names; *n;) {
            size_t k = strcspn(n, " ");
            if (k == key && strncmp(n, line, k) == 0)
                buf_add(out, line, len);
            n += k + (n[k] == ' ');
        }
        line += len;
    }
    buf_release(&all);
}

/* The finding that opened the incident, as a watch setting and a Prometheus rule. */
static void alert_measure(struct pm_doc *d)
{
    const struct incident *inc = d->inc;
    if (!inc->nalerts)
        return;
    static const struct {
        const char *kind, *keys;
    } thresholds[] = {
        { "latency_regression", "latency_ratio latency_min_increase" },
        { "call_surge", "surge_ratio surge_min_increase" },
        { "new_heavy_query", "new_query_share new_query_min_load" },
        { "connection_saturation", "connections_warning" },
        { "idle_in_transaction", "idle_in_transaction" },
        { "long_running_query", "long_running" },
        { "blocking_chain", "blocking_min_wait" },
        { "lock_waits", "lock_waits_sessions lock_waits_logged" },
        { "seq_scan_growth", "seq_scan_ratio seq_scan_min_increase" },
        { "hot_ratio_drop", "hot_baseline hot_drop" },
        { "rows_per_call", "rows_per_call rows_ratio" },
        { "database_load", "db_load_ratio db_load_min_increase" },
        { "call_rate", "call_rate_ratio call_rate_min_increase" },
        { "connection_rate", "conn_rate_ratio conn_rate_min_increase" },
        { "pooler_saturation", "pool_wait pool_wait_critical" },
    };
    const char *kind = inc->alerts[0].kind;
    struct buf setting = BUF_INIT;
    for (size_t i = 0; i < sizeof(thresholds) / sizeof(thresholds[0]); i++)
        if (strcmp(thresholds[i].kind, kind) == 0) {
            buf_addstr(&setting, "# sleuth.conf\n");
            default_settings(thresholds[i].keys, &setting);
        }
    bool has = setting.len > 0;
    struct buf b = BUF_INIT;
    buf_addf(&b,
             "Page on the alert that opened this incident (%s): sleuth watch with a "
             "10 s interval fires it within two intervals; these are its thresholds "
             "(--config FILE)",
             kind);
    buf_addstr(&b, has ? "." : ": it fires at once.");
    step(&d->measures, &d->nmeasures, buf_detach(&b, NULL), has ? buf_detach(&setting, NULL) : NULL,
         "sh");
    buf_release(&setting);
    step(&d->measures, &d->nmeasures,
         xstrdup("Or from Prometheus scraping sleuth watch --listen: a rule on the same alert."),
         dupf("- alert: Sleuth_%s\n  expr: sleuth_alerts_firing{kind=\"%s\"} > 0\n  for: 1m\n"
              "  labels:\n    severity: page",
              kind, kind),
         "yaml");
}

/* The demo that stages this kind of outage, for a drill. */
static const char *drill_of(enum cause_kind k)
{
    switch (k) {
    case CAUSE_MISSING_INDEX:
        return "missing-index";
    case CAUSE_HOT_INDEX:
        return "hot-index";
    case CAUSE_POOL_EXHAUSTION:
        return "pool-exhaustion";
    case CAUSE_DEPLOY_SURGE:
        return "deploy-surge";
    case CAUSE_REDUNDANT_FETCH:
        return "redundant-fetch";
    case CAUSE_TRAFFIC_SURGE:
        return "traffic-surge";
    case CAUSE_LOCK_CONTENTION:
        return "lock-contention";
    case CAUSE_PLAN_REGRESSION:
        return "plan-regression";
    default:
        return NULL;
    }
}

/* The literal for SQL: 'text' with quotes doubled. */
static void sql_literal(struct buf *b, const char *s)
{
    buf_addch(b, '\'');
    for (; *s; s++) {
        if (*s == '\'')
            buf_addch(b, '\'');
        buf_addch(b, *s);
    }
    buf_addch(b, '\'');
}

static char *table_stats_sql(const char *table, const char *cols)
{
    char schema[64];
    const char *bare;
    split_table(table, schema, sizeof(schema), &bare);
    struct buf b = BUF_INIT;
    buf_addf(&b, "SELECT %s\n  FROM pg_stat_user_tables WHERE relname = ", cols);
    sql_literal(&b, bare);
    buf_addch(&b, ';');
    return buf_detach(&b, NULL);
}

static void measures_and_playbook(struct pm_doc *d)
{
    const struct cause *g = d->top;
    const struct incident *inc = d->inc;
    char schema[64];
    const char *bare = NULL;
    if (g->table)
        split_table(g->table, schema, sizeof(schema), &bare);
    struct buf sql = BUF_INIT;
    switch (g->kind) {
    case CAUSE_MISSING_INDEX:
        if (bare && g->ncolumns) {
            advice_create_index_sql(&sql, schema, bare, (const char *const *)g->columns,
                                    g->ncolumns);
            step(&d->measures, &d->nmeasures,
                 xstrdup(inc->has_fix ? "Keep the index that fixed it (the exact statement, "
                                        "for every environment):"
                                      : "Create the index the query needs (online):"),
                 buf_detach(&sql, NULL), "sql");
        }
        step(&d->measures, &d->nmeasures,
             xstrdup("Review migrations that drop or rebuild indexes: run sleuth analyze on a "
                     "staging log of the migration and the test suite before it ships."),
             NULL, NULL);
        if (bare)
            step(&d->playbook, &d->nplaybook,
                 xstrdup("Is the table being scanned? seq_tup_read rising fast is the sign."),
                 table_stats_sql(g->table, "relname, seq_scan, seq_tup_read, idx_scan"), "sql");
        break;
    case CAUSE_HOT_INDEX:
        if (g->index) {
            advice_drop_index_sql(&sql, bare ? schema : "", g->index);
            step(&d->measures, &d->nmeasures,
                 xstrdup(inc->has_fix ? "The index is gone; keep it out (the exact statement):"
                                      : "Drop the index on the updated columns (online):"),
                 buf_detach(&sql, NULL), "sql");
        }
        step(&d->measures, &d->nmeasures,
             xstrdup("Before adding an index, check that no frequent UPDATE sets its columns "
                     "(sleuth flags it from the log alone as soon as the CREATE INDEX is seen)."),
             NULL, NULL);
        if (bare)
            step(&d->playbook, &d->nplaybook,
                 xstrdup("Do updates still go HOT? n_tup_hot_upd far below n_tup_upd is the sign."),
                 table_stats_sql(g->table, "relname, n_tup_upd, n_tup_hot_upd"), "sql");
        break;
    case CAUSE_POOL_EXHAUSTION:
        step(&d->measures, &d->nmeasures,
             xstrdup("End transactions the application forgets (the holders' role or database):"),
             xstrdup("ALTER ROLE app_role SET idle_in_transaction_session_timeout = '30s';"),
             "sql");
        if (json_object_get(g->evidence, "pgbouncer")) {
            step(&d->measures, &d->nmeasures,
                 xstrdup("Behind PgBouncer, let it close what the application leaves open, and "
                         "turn waiting clients away sooner than its default 120 s:"),
                 xstrdup("; pgbouncer.ini\nidle_transaction_timeout = 30\nquery_wait_timeout = 20"),
                 "ini");
            step(&d->playbook, &d->nplaybook,
                 xstrdup("Are clients waiting at PgBouncer? (its admin console)"),
                 xstrdup("SHOW POOLS;  -- cl_waiting > 0 and maxwait rising: the pool is taken"),
                 "sql");
        }
        step(&d->playbook, &d->nplaybook, xstrdup("Who holds the connections, and for how long?"),
             xstrdup("SELECT application_name, state, count(*),\n"
                     "       max(now() - xact_start) AS oldest_xact\n"
                     "  FROM pg_stat_activity WHERE backend_type = 'client backend'\n"
                     " GROUP BY 1, 2 ORDER BY 3 DESC;"),
             "sql");
        break;
    case CAUSE_LOCK_CONTENTION:
        step(&d->measures, &d->nmeasures,
             xstrdup("Run migrations with a lock timeout and outside long transactions:"),
             xstrdup("SET lock_timeout = '2s';"), "sql");
        step(&d->playbook, &d->nplaybook, xstrdup("Who blocks whom?"),
             xstrdup("SELECT pid, pg_blocking_pids(pid) AS blocked_by, wait_event_type,\n"
                     "       now() - xact_start AS xact_age, left(query, 80)\n"
                     "  FROM pg_stat_activity WHERE cardinality(pg_blocking_pids(pid)) > 0;"),
             "sql");
        break;
    case CAUSE_DEPLOY_SURGE:
    case CAUSE_REDUNDANT_FETCH:
        step(&d->measures, &d->nmeasures,
             xstrdup(g->kind == CAUSE_DEPLOY_SURGE
                         ? "Batch the per-row query of the release (one query with IN or a "
                           "join), and gate releases on calls per page in CI."
                         : "Fetch only what the page shows: a LIMIT, the needed columns, keyset "
                           "pagination."),
             NULL, NULL);
        step(&d->playbook, &d->nplaybook,
             xstrdup("Which statements have the most calls and rows per call now?"),
             xstrdup("SELECT calls, rows / greatest(calls, 1) AS rows_per_call, left(query, 80)\n"
                     "  FROM pg_stat_statements ORDER BY calls DESC LIMIT 10;"),
             "sql");
        break;
    case CAUSE_TRAFFIC_SURGE:
        step(&d->measures, &d->nmeasures,
             xstrdup("Rate-limit or cache at the edge, and put a pooler in front so that new "
                     "clients do not open new database connections."),
             NULL, NULL);
        step(&d->playbook, &d->nplaybook,
             xstrdup("How fast do connections arrive? Compare with the usual rate."),
             xstrdup("SELECT count(*) FILTER (WHERE backend_start > now() - interval '10 s')\n"
                     "       AS new_in_10s, count(*) AS connected\n"
                     "  FROM pg_stat_activity WHERE backend_type = 'client backend';"),
             "sql");
        break;
    case CAUSE_RESOURCE_SATURATION:
        step(&d->measures, &d->nmeasures,
             xstrdup("Find what else ran on the database host (backups, batch jobs, a noisy "
                     "neighbour) and move it or give the database its own cores and disks."),
             NULL, NULL);
        step(&d->playbook, &d->nplaybook,
             xstrdup("Is the machine starved? Run on the database host:"),
             xstrdup("vmstat 1 5; iostat -x 1 3"), "sh");
        break;
    case CAUSE_PLAN_REGRESSION:
    case CAUSE_QUERY_REGRESSION:
        step(&d->measures, &d->nmeasures,
             xstrdup(inc->has_trigger && inc->trigger.kind == CHANGE_SETTING
                         ? "Review planner settings changes like any release."
                         : "Keep the table's statistics fresh (ANALYZE after bulk changes) and "
                           "log plans with auto_explain to compare them next time."),
             NULL, NULL);
        step(&d->playbook, &d->nplaybook, xstrdup("Which settings differ from their defaults?"),
             xstrdup("SELECT name, setting, source FROM pg_settings\n"
                     " WHERE source NOT IN ('default', 'override');"),
             "sql");
        break;
    default:
        if (d->web_only) {
            step(&d->measures, &d->nmeasures,
                 xstrdup("Look where the time went outside the database: the web and "
                         "application hosts' CPU and memory, the upstream services the pages "
                         "call, the network between them, for the window above."),
                 NULL, NULL);
            step(&d->measures, &d->nmeasures,
                 xstrdup("Alert on the users' side too: a rule on the web tier's 5xx share and "
                         "p95 latency, so a fault outside the database pages someone."),
                 NULL, NULL);
            step(&d->playbook, &d->nplaybook,
                 xstrdup("Is the database to blame? Read its log beside the access log: sleuth "
                         "rules it out when its time and errors stay flat."),
                 xstrdup("sleuth analyze --access ACCESS.log postgresql.log"), "sh");
        }
        break;
    }
    buf_release(&sql);
    alert_measure(d);
    const char *drill = drill_of(g->kind);
    if (drill)
        step(&d->measures, &d->nmeasures,
             xstrdup("Drill: stage this outage on a throwaway server and watch sleuth catch it."),
             dupf("sleuth demo %s", drill), "sh");
    if (g->query)
        step(&d->playbook, &d->nplaybook,
             xstrdup("How does the query run now? (EXPLAIN without ANALYZE runs nothing.)"),
             dupf("EXPLAIN %s", g->query), "sql");
    step(&d->playbook, &d->nplaybook,
         xstrdup("Watch it live: incidents open within two intervals, with this diagnosis."),
         xstrdup("sleuth watch --interval 10s 'host=DBHOST dbname=DBNAME user=monitor'"), "sh");
}

static void sources_line(const struct report *r, struct pm_doc *d)
{
    struct buf b = BUF_INIT;
    buf_addstr(&b, "Written from ");
    if (r->a->store) {
        report_store_line(r, &b);
    } else if (r->a->ninputs) {
        for (size_t i = 0; i < r->a->ninputs; i++)
            buf_addf(&b, "%s'%s'", i ? ", " : "", r->a->inputs[i].path);
        buf_addstr(&b, " (the server log)");
    } else {
        buf_addstr(&b, "no database log or store");
    }
    for (size_t i = 0; r->web && i < r->web->ninputs; i++)
        buf_addf(&b, "%s'%s'%s", i ? ", " : " and ", r->web->inputs[i].path,
                 i + 1 == r->web->ninputs ? " (the web server's access log)" : "");
    buf_addch(&b, '.');
    d->sources = buf_detach(&b, NULL);
}

static void pm_build(const struct report *r, const struct incident *inc, bool web_only,
                     struct pm_doc *d)
{
    memset(d, 0, sizeof(*d));
    d->inc = inc;
    d->top = &inc->causes[0];
    d->web_only = web_only;
    if (r->web) {
        d->has_web = true;
        web_impact(r->web, inc->onset_us, inc->end_us ? inc->end_us : inc->updated_us, &d->web);
    }
    summary_sentences(r, d);
    timeline(r, d);
    root_cause_detail(d);
    for (size_t i = 0; d->has_web && d->top->fingerprint && i < d->web.nroutes; i++) {
        size_t k;
        bool by_time;
        uint32_t route = d->web.routes[i].route;
        double rr = report_web_route_follows(r, d->top->fingerprint, route, d->web.window.from_us,
                                             d->web.window.to_us, &k, &by_time);
        if (rr >= 0.7)
            detail(d, dupf("Users: the %s of %s follows the query's mean time "
                           "(r = %.2f over %zu intervals).",
                           report_web_follow_measure(by_time),
                           names_get(&r->web->routes, route).ptr, rr, k));
    }
    measures_and_playbook(d);
    sources_line(r, d);
}

static void pm_release(struct pm_doc *d)
{
    free(d->title);
    free(d->root_cause);
    free(d->impact);
    free(d->users);
    for (size_t i = 0; i < d->nevents; i++) {
        free(d->events[i].text);
        free(d->events[i].code);
    }
    free(d->events);
    for (size_t i = 0; i < d->ndetail; i++)
        free(d->detail[i]);
    free(d->detail);
    struct pm_step *lists[2] = { d->measures, d->playbook };
    size_t ns[2] = { d->nmeasures, d->nplaybook };
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < ns[k]; i++) {
            free(lists[k][i].text);
            free(lists[k][i].code);
        }
        free(lists[k]);
    }
    free(d->numbers);
    free(d->sources);
}

/* --- writers -------------------------------------------------------------------------- */

static void md_span(const struct report *r, const struct pm_doc *d, struct buf *b)
{
    const struct incident *inc = d->inc;
    report_time(r, b, inc->onset_us);
    buf_addstr(b, " to ");
    if (inc->end_us) {
        report_time(r, b, inc->end_us);
        buf_addstr(b, " (");
        report_duration(b, inc->end_us - inc->onset_us);
        buf_addch(b, ')');
    } else {
        buf_addstr(b, "still going on at ");
        report_time(r, b, inc->updated_us);
    }
}

/* "**Time to detect**: 1 s; **time to recover** ...: 65 s." (Markdown). */
static void detect_words(const struct pm_doc *d, struct buf *b)
{
    const struct incident *inc = d->inc;
    if (d->web_only) {
        buf_addstr(b, "**Time to detect**: no database alert fired; found in the access log "
                      "afterwards.");
        return;
    }
    buf_addstr(b, "**Time to detect**: ");
    report_duration(b, inc->detected_us - inc->onset_us);
    if (inc->end_us) {
        buf_addstr(b, "; **time to recover** (detection to normal): ");
        report_duration(b, inc->end_us - inc->detected_us);
    }
    buf_addch(b, '.');
}

static void md_steps(struct buf *b, const struct pm_step *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        buf_addf(b, "%zu. ", i + 1);
        report_md_text(b, v[i].text, 0);
        buf_addstr(b, "\n\n");
        if (v[i].code)
            report_md_fenced(b, v[i].lang ? v[i].lang : "", v[i].code);
    }
}

static int write_markdown(const struct report *r, const struct pm_doc *d, FILE *out)
{
    struct buf b = BUF_INIT;
    const struct incident *inc = d->inc;
    buf_addstr(&b, "# Postmortem: ");
    report_md_text(&b, d->title, 200);
    buf_addstr(&b, "\n\n## Issue summary\n\n- **Duration**: ");
    md_span(r, d, &b);
    buf_addf(&b, "; severity %s.\n- **Impact**: ", inc->critical ? "critical" : "warning");
    report_md_text(&b, d->impact, 0);
    buf_addstr(&b, " ");
    report_md_text(&b, d->users, 0);
    buf_addstr(&b, "\n- **Root cause**: ");
    report_md_text(&b, d->root_cause, 0);
    buf_addstr(&b, "\n- ");
    detect_words(d, &b);
    buf_addstr(&b, "\n\n## Timeline\n\n");
    for (size_t i = 0; i < d->nevents; i++) {
        const struct pm_event *e = &d->events[i];
        buf_addstr(&b, "- ");
        if (e->ts_us) {
            buf_addstr(&b, "**");
            report_time(r, &b, e->ts_us);
            buf_addstr(&b, "** ");
        }
        report_md_text(&b, e->text, 0);
        if (e->code) {
            buf_addstr(&b, " ");
            report_md_code(&b, e->code, 200);
        }
        buf_addch(&b, '\n');
    }
    buf_addstr(&b, "\n## Root cause and resolution\n\n");
    for (size_t i = 0; i < d->ndetail; i++) {
        buf_addstr(&b, "- ");
        report_md_text(&b, d->detail[i], 0);
        buf_addch(&b, '\n');
    }
    buf_addstr(&b, "\n## Corrective and preventive measures\n\n");
    md_steps(&b, d->measures, d->nmeasures);
    buf_addstr(&b, "## Playbook for the next time\n\n");
    md_steps(&b, d->playbook, d->nplaybook);
    buf_addstr(&b, "---\n\n");
    report_md_text(&b, d->sources, 0);
    buf_addstr(&b, " Blanks (____) are for what no log can know.\n");
    size_t w = fwrite(b.ptr, 1, b.len, out);
    int rc = w == b.len ? 0 : -1;
    buf_release(&b);
    return rc;
}

static void html_steps(struct buf *b, const struct pm_step *v, size_t n)
{
    buf_addstr(b, "<ol>\n");
    for (size_t i = 0; i < n; i++) {
        buf_addstr(b, "<li>");
        report_html_esc(b, v[i].text);
        if (v[i].code) {
            buf_addstr(b, "<pre><code>");
            report_html_esc(b, v[i].code);
            buf_addstr(b, "</code></pre>");
        }
        buf_addstr(b, "</li>\n");
    }
    buf_addstr(b, "</ol>\n");
}

/* A series being filled for a chart. */
struct pm_series {
    int64_t *t;
    double *v;
    size_t n, cap;
};

static void series_add(struct pm_series *s, int64_t t, double v)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->t = xrealloc(s->t, s->cap * sizeof(*s->t));
        s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    s->t[s->n] = t;
    s->v[s->n++] = v;
}

static void series_chart(const struct report *r, struct buf *b, struct pm_series *s,
                         const char *caption, const char *unit, int64_t from, int64_t to,
                         const struct incident *inc, const struct svg_mark *marks, size_t nmarks)
{
    struct svg_series ss = { caption, unit, s->t, s->v, s->n };
    svg_incident_chart(r, b, &ss, from, to, inc->onset_us,
                       inc->end_us ? inc->end_us : inc->updated_us, marks, nmarks);
    free(s->t);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

/*
 * The incident's charts, each point at its interval's middle: the database's
 * time, the guilty query's mean time, and with an access log the web tier's
 * 5xx and p95; the incident shaded, the trigger and the fix marked.
 */
static void html_charts(const struct report *r, const struct pm_doc *d, struct buf *b)
{
    const struct incident *inc = d->inc;
    int64_t step = r->a->opts.filter.interval_us;
    int64_t end = inc->end_us ? inc->end_us : inc->updated_us, pad = end - inc->onset_us;
    if (pad < 5 * step)
        pad = 5 * step;
    int64_t from = inc->onset_us - pad, to = end + pad;
    struct svg_mark marks[2];
    size_t nmarks = 0;
    if (inc->has_trigger)
        marks[nmarks++] = (struct svg_mark){ inc->trigger.ts_us, "trigger" };
    if (inc->has_fix)
        marks[nmarks++] = (struct svg_mark){ inc->fix.ts_us, "fix" };
    struct buf charts = BUF_INIT;
    struct pm_series s = { 0 };
    for (size_t i = 0; i < r->ntl; i++)
        series_add(&s, r->timeline[i]->bucket + step / 2,
                   (double)r->timeline[i]->total_us / (double)step);
    series_chart(r, &charts, &s, "Database time (s a second)", "s/s", from, to, inc, marks, nmarks);
    for (size_t i = 0; d->top->fingerprint && i < r->c->nq; i++) {
        const struct qstat *q = &r->c->q[i];
        if (q->fingerprint != d->top->fingerprint)
            continue;
        for (size_t k = 0; k < q->nseries; k++)
            if (q->series[k].calls)
                series_add(&s, q->series[k].bucket + step / 2,
                           (double)q->series[k].total_us / 1e3 / (double)q->series[k].calls);
        series_chart(r, &charts, &s, "The query's mean time (ms)", "ms", from, to, inc, marks,
                     nmarks);
    }
    if (r->web) {
        int64_t wstep = r->web->opts.interval_us;
        struct pm_series p95 = { 0 };
        for (size_t i = 0; i < r->web->nbuckets; i++) {
            const struct web_bucket *wb = &r->web->buckets[i];
            series_add(&s, wb->start_us + wstep / 2, (double)wb->failed);
            if (sketch_count(&wb->latency))
                series_add(&p95, wb->start_us + wstep / 2,
                           (double)sketch_quantile(&wb->latency, 0.95) / 1e3);
        }
        series_chart(r, &charts, &s, "HTTP 5xx per interval (access log)", "requests", from, to,
                     inc, marks, nmarks);
        series_chart(r, &charts, &p95, "Request time p95 (ms, access log)", "ms", from, to, inc,
                     marks, nmarks);
    }
    if (charts.len) {
        buf_addstr(b, "<h2>Charts</h2>\n");
        buf_add(b, charts.ptr, charts.len);
    }
    buf_release(&charts);
}

static int write_html(const struct report *r, const struct pm_doc *d, FILE *out)
{
    struct buf b = BUF_INIT, t = BUF_INIT;
    const struct incident *inc = d->inc;
    buf_addstr(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                   "<title>Postmortem: ");
    report_html_esc(&b, d->title);
    buf_addf(&b, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n<h1>Postmortem: ",
             report_html_css());
    report_html_esc(&b, d->title);
    buf_addstr(&b, "</h1>\n<h2>Issue summary</h2>\n<ul>\n<li><b>Duration</b>: ");
    md_span(r, d, &t);
    report_html_esc(&b, t.ptr);
    buf_reset(&t);
    buf_addf(&b,
             "; severity %s.</li>\n<li><b>Impact</b>: ", inc->critical ? "critical" : "warning");
    report_html_esc(&b, d->impact);
    buf_addstr(&b, " ");
    report_html_esc(&b, d->users);
    buf_addstr(&b, "</li>\n<li><b>Root cause</b>: ");
    report_html_esc(&b, d->root_cause);
    buf_addstr(&b, "</li>\n<li>");
    detect_words(d, &t);
    /* Only the words' own ** marks become bold: the text is sleuth's, no log string. */
    for (const char *p = t.ptr; *p;) {
        const char *m = strstr(p, "**");
        const char *e = m ? strstr(m + 2, "**") : NULL;
        if (!m || !e) {
            report_html_esc(&b, p);
            break;
        }
        buf_add(&b, p, (size_t)(m - p));
        buf_addstr(&b, "<b>");
        buf_add(&b, m + 2, (size_t)(e - m - 2));
        buf_addstr(&b, "</b>");
        p = e + 2;
    }
    buf_reset(&t);
    buf_addstr(&b, "</li>\n</ul>\n<h2>Timeline</h2>\n<ul>\n");
    for (size_t i = 0; i < d->nevents; i++) {
        const struct pm_event *e = &d->events[i];
        buf_addstr(&b, "<li>");
        if (e->ts_us) {
            report_time(r, &t, e->ts_us);
            buf_addstr(&b, "<b>");
            report_html_esc(&b, t.ptr);
            buf_addstr(&b, "</b> ");
            buf_reset(&t);
        }
        report_html_esc(&b, e->text);
        if (e->code) {
            buf_addstr(&b, " <code>");
            report_html_esc(&b, e->code);
            buf_addstr(&b, "</code>");
        }
        buf_addstr(&b, "</li>\n");
    }
    buf_addstr(&b, "</ul>\n");
    html_charts(r, d, &b);
    buf_addstr(&b, "<h2>Root cause and resolution</h2>\n<ul>\n");
    for (size_t i = 0; i < d->ndetail; i++) {
        buf_addstr(&b, "<li>");
        report_html_esc(&b, d->detail[i]);
        buf_addstr(&b, "</li>\n");
    }
    buf_addstr(&b, "</ul>\n<h2>Corrective and preventive measures</h2>\n");
    html_steps(&b, d->measures, d->nmeasures);
    buf_addstr(&b, "<h2>Playbook for the next time</h2>\n");
    html_steps(&b, d->playbook, d->nplaybook);
    buf_addstr(&b, "<p class=\"muted\">");
    report_html_esc(&b, d->sources);
    buf_addstr(&b, " Blanks (____) are for what no log can know.</p>\n</main>\n</body>\n</html>\n");
    buf_release(&t);
    size_t w = fwrite(b.ptr, 1, b.len, out);
    int rc = w == b.len ? 0 : -1;
    buf_release(&b);
    return rc;
}

static json_t *steps_json(const struct pm_step *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "text", jsonstr_new(v[i].text));
        json_object_set_new(o, "code", v[i].code ? jsonstr_new(v[i].code) : json_null());
        json_object_set_new(o, "language", v[i].lang ? json_string(v[i].lang) : json_null());
        json_array_append_new(a, o);
    }
    return a;
}

static int write_json(const struct pm_doc *d, FILE *out)
{
    json_t *o = json_object(), *arr;
    json_object_set_new(o, "title", jsonstr_new(d->title));
    json_t *sum = json_object();
    json_object_set_new(sum, "start", jsonstr_time(d->inc->onset_us));
    json_object_set_new(sum, "end", jsonstr_time(d->inc->end_us));
    json_object_set_new(sum, "impact", jsonstr_new(d->impact));
    json_object_set_new(sum, "users", jsonstr_new(d->users));
    json_object_set_new(sum, "root_cause", jsonstr_new(d->root_cause));
    if (d->has_web)
        json_object_set_new(
            sum, "users_window",
            json_pack("{s:o, s:o, s:b}", "from", jsonstr_time(d->web.window.from_us), "to",
                      jsonstr_time(d->web.window.to_us), "web_tier", d->web.from_web));
    json_object_set_new(o, "summary", sum);
    arr = json_array();
    for (size_t i = 0; i < d->nevents; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "at", jsonstr_time(d->events[i].ts_us));
        json_object_set_new(e, "kind", json_string(d->events[i].kind));
        json_object_set_new(e, "text", jsonstr_new(d->events[i].text));
        json_object_set_new(e, "statement",
                            d->events[i].code ? jsonstr_new(d->events[i].code) : json_null());
        json_array_append_new(arr, e);
    }
    json_object_set_new(o, "timeline", arr);
    arr = json_array();
    for (size_t i = 0; i < d->ndetail; i++)
        json_array_append_new(arr, jsonstr_new(d->detail[i]));
    json_object_set_new(o, "root_cause", arr);
    json_object_set_new(o, "measures", steps_json(d->measures, d->nmeasures));
    json_object_set_new(o, "playbook", steps_json(d->playbook, d->nplaybook));
    arr = json_array();
    for (size_t i = 0; i < d->nnumbers; i++) {
        json_t *n = json_object();
        json_object_set_new(n, "name", json_string(d->numbers[i].name));
        json_object_set_new(n, "value", json_real(d->numbers[i].value));
        json_object_set_new(n, "unit", json_string(d->numbers[i].unit));
        json_object_set_new(n, "source", json_string(d->numbers[i].source));
        json_array_append_new(arr, n);
    }
    json_object_set_new(o, "numbers", arr);
    json_object_set_new(o, "sources", jsonstr_new(d->sources));
    json_object_set_new(o, "incident", incident_json(d->inc));
    int rc = json_dumpf(o, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    if (rc == 0 && fputc('\n', out) == EOF)
        rc = -1;
    json_decref(o);
    return rc;
}

/* --- entry points ----------------------------------------------------------------------- */

const struct incident *postmortem_pick(const struct incident *incs, size_t n, int seq)
{
    if (seq <= 0)
        return incident_worst(incs, n);
    for (size_t i = 0; i < n; i++)
        if (incs[i].seq == seq && incs[i].ncauses)
            return &incs[i];
    return NULL;
}

static int write_doc(const struct report *r, const struct incident *inc, bool web_only, FILE *out)
{
    struct pm_doc d;
    pm_build(r, inc, web_only, &d);
    int rc;
    switch (r->opts.format) {
    case REPORT_JSON:
        rc = write_json(&d, out);
        break;
    case REPORT_HTML:
        rc = write_html(r, &d, out);
        break;
    default:
        rc = write_markdown(r, &d, out);
        break;
    }
    pm_release(&d);
    return rc;
}

int postmortem_write(const struct report *r, const struct incident *inc, FILE *out)
{
    return write_doc(r, inc, false, out);
}

/*
 * The web tier's worst incident (the most failed or slow requests) as an
 * incident of its own: no database cause, the database's verdict as its
 * one suspicion.
 */
bool postmortem_web_incident(const struct report *r, struct incident *out)
{
    if (!r->web)
        return false;
    struct web_window *wins;
    size_t n = web_incidents(r->web, &wins);
    struct web_impact best = { 0 }, imp;
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        web_impact(r->web, wins[i].from_us, wins[i].to_us, &imp);
        if (!found || imp.failed + imp.slow > best.failed + best.slow) {
            best = imp;
            found = true;
        }
    }
    free(wins);
    if (!found)
        return false;
    struct report_web_db db;
    report_web_db(r, &best.window, &db);
    incident_init(out);
    out->seq = 1;
    out->state = INCIDENT_RESOLVED;
    out->critical = best.failed > 0;
    out->onset_us = out->detected_us = best.window.from_us;
    out->end_us = out->updated_us = best.window.to_us;
    out->causes = xcalloc(1, sizeof(*out->causes));
    out->ncauses = 1;
    out->causes[0].kind = CAUSE_UNKNOWN;
    out->causes[0].score = 1;
    bool no_db = !r->a->store && !r->c->queries && !r->c->errors;
    out->causes[0].summary = xstrdup(
        db.verdict == VERDICT_RULED_OUT
            ? "pages failed or slowed at the web tier while the database's time and errors "
              "stayed flat: the cause is outside the database"
        : no_db ? "pages failed or slowed at the web tier; without the database's log these "
                  "data cannot tell whether it is to blame"
                : "pages failed or slowed at the web tier; the database's numbers moved but "
                  "opened no incident");
    out->causes[0].fix = xstrdup("look outside the database first: the web and application "
                                 "hosts (CPU, memory), the upstream services the pages call, "
                                 "the network between them");
    out->suspicions = xcalloc(1, sizeof(*out->suspicions));
    out->nsuspicions = 1;
    out->suspicions[0].name = xstrdup("the database");
    out->suspicions[0].verdict = db.verdict;
    out->suspicions[0].evidence = db.evidence;
    if (db.verdict == VERDICT_CANNOT_TELL)
        out->suspicions[0].needs = xstrdup("the server log or a watch store for the same hours");
    return true;
}

int postmortem_write_web(const struct report *r, const struct incident *inc, FILE *out)
{
    return write_doc(r, inc, true, out);
}
