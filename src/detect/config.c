/*
 * The detectors' thresholds: defaults, the postgresql.conf-like file that
 * overrides them and `--set name=value` (see config.h). One table maps
 * each key to its field, type and range, so the parser, the setter and the
 * dump cannot disagree. Values are parsed by hand rather than with strtod
 * alone, which would also take "inf", "nan", hex and locale-dependent
 * input.
 */
#include "detect/config.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/banned.h"

enum key_type {
    KT_COUNT,    /* int, a whole number */
    KT_NUMBER,   /* double, a plain number, an optional trailing "x" */
    KT_FRACTION, /* double in [0, 1], "80%" or "0.8" */
    KT_SECONDS,  /* double seconds, a duration */
    KT_MS,       /* double milliseconds, a duration */
};

struct key_def {
    const char *name;
    enum key_type type;
    size_t off;
    double min, max;
};

#define K(name, type, min, max)                                     \
    {                                                               \
#name, type, offsetof(struct detect_config, name), min, max \
    }
#define KD(name, field, type, min, max)                              \
    {                                                                \
#name, type, offsetof(struct detect_config, field), min, max \
    }

static const struct key_def keys[] = {
    K(history, KT_COUNT, 5, 240),
    K(min_history, KT_COUNT, 2, 240),
    K(max_keys, KT_COUNT, 16, 1000000),
    K(baseline_k, KT_NUMBER, 0, 1000),
    K(mad_floor, KT_FRACTION, 0, 1),
    K(relearn, KT_COUNT, 0, 100000),
    K(min_calls, KT_COUNT, 1, 1000000000),
    K(alert_for_critical, KT_COUNT, 1, 100),
    K(alert_for_warning, KT_COUNT, 1, 100),
    K(alert_clear, KT_COUNT, 1, 1000),
    K(alert_resolved_max, KT_COUNT, 0, 10000),
    K(latency_ratio, KT_NUMBER, 1, 1e6),
    KD(latency_min_increase, latency_min_increase_ms, KT_MS, 0, 1e9),
    K(latency_critical_ratio, KT_NUMBER, 1, 1e6),
    K(surge_ratio, KT_NUMBER, 1, 1e6),
    K(surge_min_increase, KT_NUMBER, 0, 1e9),
    K(surge_critical_ratio, KT_NUMBER, 1, 1e6),
    K(new_query_share, KT_FRACTION, 0, 1),
    K(new_query_min_load, KT_NUMBER, 0, 1e6),
    K(connections_warning, KT_FRACTION, 0.01, 1),
    K(connections_critical, KT_FRACTION, 0.01, 1),
    KD(pool_wait, pool_wait_ms, KT_MS, 0, 1e9),
    KD(pool_wait_critical, pool_wait_critical_ms, KT_MS, 0, 1e9),
    KD(long_running, long_running_s, KT_SECONDS, 0, 1e9),
    KD(long_running_critical, long_running_critical_s, KT_SECONDS, 0, 1e9),
    KD(idle_in_transaction, idle_in_transaction_s, KT_SECONDS, 0, 1e9),
    KD(idle_in_transaction_critical, idle_in_transaction_critical_s, KT_SECONDS, 0, 1e9),
    KD(blocking_min_wait, blocking_min_wait_s, KT_SECONDS, 0, 1e9),
    K(blocking_critical_sessions, KT_COUNT, 1, 1000000),
    KD(blocking_critical_wait, blocking_critical_wait_s, KT_SECONDS, 0, 1e9),
    K(lock_waits_sessions, KT_COUNT, 1, 1000000),
    K(lock_waits_share, KT_FRACTION, 0, 1),
    K(lock_waits_logged, KT_COUNT, 1, 1000000000),
    K(lock_waits_critical, KT_COUNT, 1, 1000000),
    K(deadlocks_critical, KT_COUNT, 1, 1000000000),
    K(rollback_min_xacts, KT_COUNT, 1, 1000000000),
    K(rollback_min_increase, KT_FRACTION, 0, 1),
    K(errors_ratio, KT_NUMBER, 1, 1e6),
    K(errors_min_increase, KT_NUMBER, 0, 1e9),
    K(seq_scan_min_table_rows, KT_COUNT, 0, 2000000000),
    K(seq_scan_table_fraction, KT_FRACTION, 0, 1),
    K(seq_scan_ratio, KT_NUMBER, 1, 1e6),
    K(seq_scan_min_increase, KT_NUMBER, 0, 1e12),
    K(hot_baseline, KT_FRACTION, 0, 1),
    K(hot_drop, KT_FRACTION, 0, 1),
    K(hot_min_updates, KT_COUNT, 1, 1000000000),
    K(rows_per_call, KT_NUMBER, 1, 1e12),
    K(rows_ratio, KT_NUMBER, 1, 1e6),
    K(rows_min_increase, KT_NUMBER, 0, 1e12),
    K(db_load_ratio, KT_NUMBER, 1, 1e6),
    K(db_load_min_increase, KT_NUMBER, 0, 1e6),
    K(call_rate_ratio, KT_NUMBER, 1, 1e6),
    K(call_rate_min_increase, KT_NUMBER, 0, 1e9),
    K(conn_rate_ratio, KT_NUMBER, 1, 1e6),
    K(conn_rate_min_increase, KT_NUMBER, 0, 1e9),
};

#undef K
#undef KD

void detect_config_init(struct detect_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->history = 30;
    cfg->min_history = 5;
    cfg->max_keys = 2000;
    cfg->baseline_k = 4;
    cfg->mad_floor = 0.1;
    cfg->relearn = 60;
    cfg->min_calls = 10;
    cfg->alert_for_critical = 1;
    cfg->alert_for_warning = 2;
    cfg->alert_clear = 3;
    cfg->alert_resolved_max = 100;
    cfg->latency_ratio = 2;
    cfg->latency_min_increase_ms = 5;
    cfg->latency_critical_ratio = 10;
    cfg->surge_ratio = 5;
    cfg->surge_min_increase = 20;
    cfg->surge_critical_ratio = 50;
    cfg->new_query_share = 0.2;
    cfg->new_query_min_load = 0.05;
    cfg->connections_warning = 0.8;
    cfg->connections_critical = 0.95;
    cfg->pool_wait_ms = 250;
    cfg->pool_wait_critical_ms = 2000;
    cfg->long_running_s = 60;
    cfg->long_running_critical_s = 600;
    cfg->idle_in_transaction_s = 30;
    cfg->idle_in_transaction_critical_s = 600;
    cfg->blocking_min_wait_s = 5;
    cfg->blocking_critical_sessions = 3;
    cfg->blocking_critical_wait_s = 300;
    cfg->lock_waits_sessions = 5;
    cfg->lock_waits_share = 0.5;
    cfg->lock_waits_logged = 3;
    cfg->lock_waits_critical = 20;
    cfg->deadlocks_critical = 5;
    cfg->rollback_min_xacts = 100;
    cfg->rollback_min_increase = 0.1;
    cfg->errors_ratio = 5;
    cfg->errors_min_increase = 1;
    cfg->seq_scan_min_table_rows = 10000;
    cfg->seq_scan_table_fraction = 0.25;
    cfg->seq_scan_ratio = 5;
    cfg->seq_scan_min_increase = 100000;
    cfg->hot_baseline = 0.8;
    cfg->hot_drop = 0.5;
    cfg->hot_min_updates = 20;
    cfg->rows_per_call = 1000;
    cfg->rows_ratio = 10;
    cfg->rows_min_increase = 100;
    cfg->db_load_ratio = 3;
    cfg->db_load_min_increase = 0.05;
    cfg->call_rate_ratio = 5;
    cfg->call_rate_min_increase = 20;
    cfg->conn_rate_ratio = 5;
    cfg->conn_rate_min_increase = 5;
}

static const struct key_def *find_key(struct str name)
{
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
        if (strlen(keys[i].name) == name.len && strncasecmp(keys[i].name, name.ptr, name.len) == 0)
            return &keys[i];
    return NULL;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/*
 * Parses a non-negative decimal number (digits, an optional fraction and
 * exponent) at the front of v; returns the bytes consumed, 0 if none.
 */
static size_t parse_decimal(struct str v, double *out)
{
    size_t i = 0, digits = 0;
    while (i < v.len && is_digit(v.ptr[i]))
        i++, digits++;
    if (i < v.len && v.ptr[i] == '.') {
        i++;
        while (i < v.len && is_digit(v.ptr[i]))
            i++, digits++;
    }
    if (digits == 0)
        return 0;
    if (i < v.len && (v.ptr[i] == 'e' || v.ptr[i] == 'E')) {
        size_t j = i + 1;
        if (j < v.len && (v.ptr[j] == '+' || v.ptr[j] == '-'))
            j++;
        size_t expdigits = 0;
        while (j < v.len && is_digit(v.ptr[j]))
            j++, expdigits++;
        if (expdigits)
            i = j;
    }
    char tmp[64];
    if (i >= sizeof(tmp))
        return 0;
    memcpy(tmp, v.ptr, i);
    tmp[i] = '\0';
    errno = 0;
    double d = strtod(tmp, NULL);
    if (errno == ERANGE || !isfinite(d))
        return 0;
    *out = d;
    return i;
}

struct unit {
    const char *name;
    double us;
};

static const struct unit units[] = {
    { "us", 1 },   { "ms", 1e3 },   { "s", 1e6 },     { "min", 60e6 },
    { "m", 60e6 }, { "h", 3600e6 }, { "d", 86400e6 },
};

/*
 * Parses v as the key's type into *out (in the field's unit). On failure
 * returns a static reason ("expected a duration like 10s or 500ms").
 */
static const char *parse_value(const struct key_def *k, struct str v, double *out)
{
    double d = 0;
    size_t n = parse_decimal(v, &d);
    static const char *const expected[] = {
        [KT_COUNT] = "expected a whole number",
        [KT_NUMBER] = "expected a number",
        [KT_FRACTION] = "expected a fraction like 80% or 0.8",
        [KT_SECONDS] = "expected a duration like 10s, 500ms, 1m, 2h or 1d",
        [KT_MS] = "expected a duration like 10s, 500ms, 1m, 2h or 1d",
    };
    if (n == 0)
        return expected[k->type];
    struct str rest = str_trim(str_skip(v, n));
    switch (k->type) {
    case KT_COUNT:
        for (size_t i = 0; i < n; i++)
            if (!is_digit(v.ptr[i]))
                return expected[k->type];
        if (rest.len)
            return expected[k->type];
        break;
    case KT_NUMBER:
        if (rest.len && !str_eq_cstr(rest, "x"))
            return expected[k->type];
        break;
    case KT_FRACTION:
        if (str_eq_cstr(rest, "%"))
            d /= 100;
        else if (rest.len)
            return expected[k->type];
        else if (d > 1)
            return "a plain fraction must be at most 1 (write 80% or 0.8)";
        break;
    case KT_SECONDS:
    case KT_MS: {
        double key_us = k->type == KT_MS ? 1e3 : 1e6;
        double unit_us = 1e6; /* a plain number is seconds */
        if (rest.len) {
            const struct unit *u = NULL;
            for (size_t i = 0; i < ARRAY_SIZE(units) && !u; i++)
                if (str_eq_cstr(rest, units[i].name))
                    u = &units[i];
            if (!u)
                return expected[k->type];
            unit_us = u->us;
        }
        /* Multiply first so that whole numbers convert exactly (500ms is 0.5 s). */
        if (unit_us != key_us)
            d = d * unit_us / key_us;
        break;
    }
    }
    if (!isfinite(d) || d < k->min || d > k->max)
        return "out of range";
    *out = d;
    return NULL;
}

static void store_value(struct detect_config *cfg, const struct key_def *k, double d)
{
    char *field = (char *)cfg + k->off;
    if (k->type == KT_COUNT) {
        int i = (int)d;
        memcpy(field, &i, sizeof(i));
    } else {
        memcpy(field, &d, sizeof(d));
    }
}

static double load_value(const struct detect_config *cfg, const struct key_def *k)
{
    const char *field = (const char *)cfg + k->off;
    if (k->type == KT_COUNT) {
        int i;
        memcpy(&i, field, sizeof(i));
        return i;
    }
    double d = 0;
    memcpy(&d, field, sizeof(d));
    return d;
}

/* Formats d so that parse_decimal gives d back. */
static void format_exact(char *out, size_t size, double d)
{
    snprintf(out, size, "%.15g", d);
    if (strtod(out, NULL) != d)
        snprintf(out, size, "%.17g", d);
}

/* Appends "name = value" (with a unit) for key k. */
static void dump_key(const struct detect_config *cfg, const struct key_def *k, struct buf *out)
{
    double d = load_value(cfg, k);
    char num[64];
    format_exact(num, sizeof(num), d);
    const char *suffix = "";
    if (k->type == KT_MS) {
        suffix = "ms";
    } else if (k->type == KT_SECONDS) {
        suffix = "s";
    } else if (k->type == KT_FRACTION) {
        char pct[64];
        format_exact(pct, sizeof(pct), d * 100);
        if (strtod(pct, NULL) / 100 == d) {
            memcpy(num, pct, sizeof(num));
            suffix = "%";
        }
    }
    buf_addf(out, "%s = %s%s\n", k->name, num, suffix);
}

void detect_config_dump(const struct detect_config *cfg, struct buf *out)
{
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
        dump_key(cfg, &keys[i], out);
}

/* Checks the settings that depend on each other; fills why on failure. */
static bool check_consistent(const struct detect_config *c, char *why, size_t size)
{
    struct pair {
        const char *lo_name, *hi_name;
        double lo, hi;
    } pairs[] = {
        { "min_history", "history", c->min_history, c->history },
        { "connections_warning", "connections_critical", c->connections_warning,
          c->connections_critical },
        { "pool_wait", "pool_wait_critical", c->pool_wait_ms, c->pool_wait_critical_ms },
        { "long_running", "long_running_critical", c->long_running_s, c->long_running_critical_s },
        { "idle_in_transaction", "idle_in_transaction_critical", c->idle_in_transaction_s,
          c->idle_in_transaction_critical_s },
        { "hot_drop", "hot_baseline", c->hot_drop, c->hot_baseline },
        { "latency_ratio", "latency_critical_ratio", c->latency_ratio, c->latency_critical_ratio },
        { "surge_ratio", "surge_critical_ratio", c->surge_ratio, c->surge_critical_ratio },
        { "lock_waits_sessions", "lock_waits_critical", c->lock_waits_sessions,
          c->lock_waits_critical },
    };
    for (size_t i = 0; i < ARRAY_SIZE(pairs); i++) {
        if (pairs[i].lo > pairs[i].hi) {
            snprintf(why, size, "'%s' must not be above '%s'", pairs[i].lo_name, pairs[i].hi_name);
            return false;
        }
    }
    return true;
}

/*
 * Applies name = value to cfg; on failure fills why (name and value are
 * quoted, cut to fit).
 */
static bool apply(struct detect_config *cfg, struct str name, struct str value, char *why,
                  size_t size)
{
    const struct key_def *k = find_key(name);
    if (!k) {
        snprintf(why, size, "unknown setting '%.*s'", (int)(name.len > 64 ? 64 : name.len),
                 name.ptr);
        return false;
    }
    double d = 0;
    const char *reason = parse_value(k, value, &d);
    if (reason) {
        int vlen = (int)(value.len > 64 ? 64 : value.len);
        if (strcmp(reason, "out of range") == 0)
            snprintf(why, size, "value '%.*s' for '%s' is out of range (%g..%g)", vlen, value.ptr,
                     k->name, k->min, k->max);
        else
            snprintf(why, size, "invalid value '%.*s' for '%s': %s", vlen, value.ptr, k->name,
                     reason);
        return false;
    }
    store_value(cfg, k, d);
    return true;
}

static bool is_name_char(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '.';
}

/*
 * Splits one line into name and value. Returns false with why set for a
 * malformed line; *empty is set for blank and comment-only lines.
 */
static bool split_line(struct str line, struct str *name, struct str *value, bool *empty, char *why,
                       size_t size)
{
    line = str_trim(line);
    *empty = line.len == 0 || line.ptr[0] == '#';
    if (*empty)
        return true;
    size_t i = 0;
    while (i < line.len && is_name_char(line.ptr[i]))
        i++;
    if (i == 0) {
        snprintf(why, size, "expected 'name = value'");
        return false;
    }
    *name = str_make(line.ptr, i);
    while (i < line.len && is_blank(line.ptr[i]))
        i++;
    if (i < line.len && line.ptr[i] == '=')
        i++;
    struct str rest = str_trim(str_skip(line, i));
    if (rest.len && rest.ptr[0] == '\'') {
        const char *close = memchr(rest.ptr + 1, '\'', rest.len - 1);
        if (!close) {
            snprintf(why, size, "unterminated quoted value");
            return false;
        }
        *value = str_trim(str_make(rest.ptr + 1, (size_t)(close - rest.ptr - 1)));
        struct str after = str_trim(str_skip(rest, (size_t)(close - rest.ptr) + 1));
        if (after.len && after.ptr[0] != '#') {
            snprintf(why, size, "unexpected text after the quoted value");
            return false;
        }
    } else {
        const char *hash = rest.len ? memchr(rest.ptr, '#', rest.len) : NULL;
        *value = str_trim(hash ? str_make(rest.ptr, (size_t)(hash - rest.ptr)) : rest);
    }
    if (value->len == 0) {
        snprintf(why, size, "missing value for '%.*s'", (int)(name->len > 64 ? 64 : name->len),
                 name->ptr);
        return false;
    }
    return true;
}

static int config_error(struct err *err, const char *name, size_t line, const char *why)
{
    err_where(err, "%s:%zu", name, line);
    return err_set(err, ERR_CONFIG, "%s:%zu: %s", name, line, why);
}

int detect_config_parse(struct detect_config *cfg, const char *text, size_t len, const char *name,
                        struct err *err)
{
    struct detect_config tmp = *cfg;
    char why[200];
    size_t lineno = 0, pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        struct str line = str_make(text + pos, end - pos);
        pos = nl ? end + 1 : len;
        lineno++;
        struct str key, value;
        bool empty;
        if (!split_line(line, &key, &value, &empty, why, sizeof(why)))
            return config_error(err, name, lineno, why);
        if (!empty && !apply(&tmp, key, value, why, sizeof(why)))
            return config_error(err, name, lineno, why);
    }
    if (!check_consistent(&tmp, why, sizeof(why))) {
        err_where(err, "%s", name);
        return err_set(err, ERR_CONFIG, "%s: %s", name, why);
    }
    *cfg = tmp;
    return 0;
}

int detect_config_load(struct detect_config *cfg, const char *path, struct err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(err, ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    struct buf b = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_add(&b, chunk, n);
    bool failed = ferror(f) != 0;
    int saved = errno;
    fclose(f);
    if (failed) {
        buf_release(&b);
        return err_set(err, ERR_IO, "cannot read '%s': %s", path, strerror(saved));
    }
    int rc = detect_config_parse(cfg, b.ptr, b.len, path, err);
    buf_release(&b);
    return rc;
}

int detect_config_set(struct detect_config *cfg, const char *name, const char *value,
                      struct err *err)
{
    struct detect_config tmp = *cfg;
    char why[200];
    if (!apply(&tmp, str_trim(str_cstr(name)), str_trim(str_cstr(value)), why, sizeof(why)) ||
        !check_consistent(&tmp, why, sizeof(why)))
        return err_set(err, ERR_USAGE, "--set %s: %s", name, why);
    *cfg = tmp;
    return 0;
}

int detect_config_set_arg(struct detect_config *cfg, const char *arg, struct err *err)
{
    const char *eq = strchr(arg, '=');
    if (!eq)
        return err_set(err, ERR_USAGE, "--set '%s': expected name=value", arg);
    char name[128];
    size_t n = (size_t)(eq - arg);
    if (n >= sizeof(name))
        return err_set(err, ERR_USAGE, "--set: unknown setting '%.64s'", arg);
    memcpy(name, arg, n);
    name[n] = '\0';
    return detect_config_set(cfg, name, eq + 1, err);
}
