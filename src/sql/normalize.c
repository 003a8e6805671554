/*
 * The SQL normaliser: the step between a reader's query event and the
 * aggregates, run once per logged statement, so it is the hot path of
 * `analyze`. It is a hand-written lexer that follows PostgreSQL 15's
 * scan.l for token boundaries (strings with continuation lines, nested
 * comments, dollar quotes, the operator rules) and writes each token as
 * soon as it has read it: one pass, a 256-entry class table, no allocation
 * beyond one buf_grow, no recursion.
 *
 * Three things need more than one token of context; each is a bounded
 * look-ahead over bytes that no other look-ahead reads, so the total work
 * stays linear:
 *  - IN (...), ARRAY[...] and VALUES (...), (...) are checked for "only
 *    literals" before their first element is written; if they pass, the
 *    lexer writes the first element (or row), then the marker, and jumps to
 *    the closing bracket (skip_at/skip_to).
 *  - Type modifiers (numeric(10, 2), varchar(20), int[3]) and the precision
 *    of current_timestamp(3) stay verbatim, because PostgreSQL's grammar
 *    takes only integer constants there and "$1" would no longer parse.
 *  - A '-' in front of a number is part of the literal when the previous
 *    token is not an operand, as PostgreSQL's grammar folds it (doNegate).
 *
 * Speed: run() keeps the cursor, the output pointer and the spacing state
 * in locals and handles the common tokens (words, numbers, strings, simple
 * punctuation and operators) inline; everything else goes through
 * lex_token() on the struct. Words are copied and lower-cased 16 bytes at a
 * time with SSE2 where available.
 */
#include "normalize.h"

#include "util/compat.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "util/banned.h"

/* Character classes: what a byte can start. */
enum cclass {
    CC_OTHER,  /* a byte no token starts with (NUL, '\\', '{'): a token of its own */
    CC_SPACE,  /* blank, tab, CR, LF, FF, VT */
    CC_IDENT,  /* letter, '_' or any byte >= 0x80: a word */
    CC_DIGIT,  /* a number */
    CC_QUOTE,  /* ' : a string constant */
    CC_DQUOTE, /* " : a quoted identifier */
    CC_DOLLAR, /* $ : a parameter or a dollar quote */
    CC_OP,     /* an operator character, or the start of a comment */
    CC_LPAREN, /* ( */
    CC_RPAREN, /* ) */
    CC_LBRACK, /* [ */
    CC_RBRACK, /* ] */
    CC_COMMA,  /* , */
    CC_SEMI,   /* ; */
    CC_COLON,  /* : , :: or := */
    CC_DOT,    /* . or the start of a number like .5 */
};

/* Byte properties, as bits of ctype[]. */
enum cflag {
    F_IDCONT = 1,  /* continues a word: letter, digit, '_', '$', byte >= 0x80 */
    F_TAG = 2,     /* continues a dollar-quote tag: as F_IDCONT without '$' */
    F_DIGIT = 4,   /* '0'..'9' */
    F_SPACE = 8,   /* whitespace */
    F_OP = 16,     /* one of ~ ! @ # ^ & | ` ? + - * / % < > = */
    F_SIGNOP = 32, /* one of ~ ! @ # ^ & | ` ? %: an operator holding one keeps a final + or - */
    F_GAP = 64,    /* whitespace, '-' or '/': may start whitespace or a comment */
};

#define IS_UPPER(c) ((c) >= 'A' && (c) <= 'Z')
#define IS_ALPHA(c) (IS_UPPER(c) || ((c) >= 'a' && (c) <= 'z') || (c) == '_' || (c) >= 0x80)
#define IS_DIG(c)   ((c) >= '0' && (c) <= '9')
#define IS_SPC(c)   ((c) == ' ' || ((c) >= '\t' && (c) <= '\r'))
#define IS_OPC(c)                                                                        \
    ((c) == '~' || (c) == '!' || (c) == '@' || (c) == '#' || (c) == '^' || (c) == '&' || \
     (c) == '|' || (c) == '`' || (c) == '?' || (c) == '+' || (c) == '-' || (c) == '*' || \
     (c) == '/' || (c) == '%' || (c) == '<' || (c) == '>' || (c) == '=')

#define CLASS_OF(c)            \
    (IS_ALPHA(c)   ? CC_IDENT  \
     : IS_DIG(c)   ? CC_DIGIT  \
     : IS_SPC(c)   ? CC_SPACE  \
     : IS_OPC(c)   ? CC_OP     \
     : (c) == '\'' ? CC_QUOTE  \
     : (c) == '"'  ? CC_DQUOTE \
     : (c) == '$'  ? CC_DOLLAR \
     : (c) == '('  ? CC_LPAREN \
     : (c) == ')'  ? CC_RPAREN \
     : (c) == '['  ? CC_LBRACK \
     : (c) == ']'  ? CC_RBRACK \
     : (c) == ','  ? CC_COMMA  \
     : (c) == ';'  ? CC_SEMI   \
     : (c) == ':'  ? CC_COLON  \
     : (c) == '.'  ? CC_DOT    \
                   : CC_OTHER)
#define IS_SIGNOP(c)                                                                     \
    ((c) == '~' || (c) == '!' || (c) == '@' || (c) == '#' || (c) == '^' || (c) == '&' || \
     (c) == '|' || (c) == '`' || (c) == '?' || (c) == '%')
#define FLAGS_OF(c)                                                                       \
    ((IS_ALPHA(c) || IS_DIG(c) || (c) == '$' ? F_IDCONT : 0) |                            \
     (IS_ALPHA(c) || IS_DIG(c) ? F_TAG : 0) | (IS_DIG(c) ? F_DIGIT : 0) |                 \
     (IS_SPC(c) ? F_SPACE : 0) | (IS_OPC(c) ? F_OP : 0) | (IS_SIGNOP(c) ? F_SIGNOP : 0) | \
     (IS_SPC(c) || (c) == '-' || (c) == '/' ? F_GAP : 0))
#define LOWER_OF(c) (IS_UPPER(c) ? (c) | 0x20 : (c))

/* The tables are built by the preprocessor, so they need no initialisation at run time. */
#define T4(f, b)  f(b), f(b + 1), f(b + 2), f(b + 3)
#define T16(f, b) T4(f, b), T4(f, b + 4), T4(f, b + 8), T4(f, b + 12)
#define T64(f, b) T16(f, b), T16(f, b + 16), T16(f, b + 32), T16(f, b + 48)
#define T256(f)   T64(f, 0), T64(f, 64), T64(f, 128), T64(f, 192)

static const uint8_t cclass[256] = { T256(CLASS_OF) };
static const uint8_t ctype[256] = { T256(FLAGS_OF) };
static const unsigned char lower[256] = { T256(LOWER_OF) };

#define UC(c)      ((unsigned char)(c))
#define HAS(c, f)  (ctype[UC(c)] & (f))
#define MARKER_LEN (sizeof(NORMALIZE_MARKER) - 1)
#define PH_MAX_LEN 21 /* "$" and the digits of a 64-bit number */
#define SLACK      16 /* bytes the word copy may write past its end */

/* Kinds of output token; the spacing between two tokens depends on them. */
enum tok {
    T_START,  /* nothing written yet */
    T_WORD,   /* keyword or identifier, lower-cased */
    T_QIDENT, /* "quoted identifier" */
    T_LIT,    /* string constant kept verbatim */
    T_NUM,    /* number kept verbatim */
    T_PARAM,  /* $n, whether from the input or a placeholder */
    T_OP,     /* operator */
    T_LPAREN, /* ( */
    T_RPAREN, /* ) */
    T_LBRACK, /* [ */
    T_RBRACK, /* ] */
    T_COMMA,  /* , */
    T_SEMI,   /* ; between statements */
    T_DOT,    /* . */
    T_CAST,   /* :: */
    T_COLON,  /* : */
    T_OTHER,  /* a byte no token starts with */
    T_MARKER, /* NORMALIZE_MARKER */
    T__COUNT, /* the number of kinds */
};

#define IS_OPERAND_KIND(k)                                                                 \
    ((k) == T_WORD || (k) == T_QIDENT || (k) == T_LIT || (k) == T_NUM || (k) == T_PARAM || \
     (k) == T_RPAREN || (k) == T_RBRACK)

/*
 * Whether a space goes between tokens of kinds prev and cur: 0 never, 1
 * always, 2 if the input had whitespace or a comment there. Besides the
 * style rules, this keeps apart tokens that would lex differently if glued
 * together (a number and '.', ':' and '::'), so the output is a fixed point.
 */
#define SPACE_RULE(prev, cur)                                                              \
    ((prev) == T_START || (prev) == T_LPAREN || (prev) == T_LBRACK || (prev) == T_CAST ? 0 \
     : (prev) == T_DOT ? (cur) == T_NUM                                                    \
     : (cur) == T_RPAREN || (cur) == T_RBRACK || (cur) == T_COMMA || (cur) == T_SEMI ? 0   \
     : (cur) == T_CAST   ? (prev) == T_COLON                                               \
     : (cur) == T_DOT    ? (prev) == T_NUM                                                 \
     : (cur) == T_LPAREN ? ((prev) == T_WORD || (prev) == T_QIDENT ? 2 : 1)                \
     : (cur) == T_LBRACK ? !IS_OPERAND_KIND(prev)                                          \
                         : 1)
#define SP_BIT(prev, cur, rule) ((uint32_t)(SPACE_RULE(prev, cur) == (rule)) << (cur))
#define SP_MASK(prev, rule)                                                     \
    (SP_BIT(prev, 0, rule) | SP_BIT(prev, 1, rule) | SP_BIT(prev, 2, rule) |    \
     SP_BIT(prev, 3, rule) | SP_BIT(prev, 4, rule) | SP_BIT(prev, 5, rule) |    \
     SP_BIT(prev, 6, rule) | SP_BIT(prev, 7, rule) | SP_BIT(prev, 8, rule) |    \
     SP_BIT(prev, 9, rule) | SP_BIT(prev, 10, rule) | SP_BIT(prev, 11, rule) |  \
     SP_BIT(prev, 12, rule) | SP_BIT(prev, 13, rule) | SP_BIT(prev, 14, rule) | \
     SP_BIT(prev, 15, rule) | SP_BIT(prev, 16, rule) | SP_BIT(prev, 17, rule))
#define SP_ROW(rule)                                                                              \
    {                                                                                             \
        SP_MASK(0, rule), SP_MASK(1, rule), SP_MASK(2, rule), SP_MASK(3, rule), SP_MASK(4, rule), \
            SP_MASK(5, rule), SP_MASK(6, rule), SP_MASK(7, rule), SP_MASK(8, rule),               \
            SP_MASK(9, rule), SP_MASK(10, rule), SP_MASK(11, rule), SP_MASK(12, rule),            \
            SP_MASK(13, rule), SP_MASK(14, rule), SP_MASK(15, rule), SP_MASK(16, rule),           \
            SP_MASK(17, rule)                                                                     \
    }

_Static_assert(T__COUNT == 18, "SP_MASK and SP_ROW list every token kind");

/* Bit cur of space_always[prev] (space_if_sep[prev]) is set if SPACE_RULE gives 1 (2). */
static const uint32_t space_always[] = SP_ROW(1);
static const uint32_t space_if_sep[] = SP_ROW(2);

/* 1 if a space goes between prev and cur, else 0; branch-free. */
static inline unsigned space_between(enum tok prev, enum tok cur, bool sep)
{
    uint32_t m = space_always[prev] | (space_if_sep[prev] & -(uint32_t)sep);
    return (m >> cur) & 1;
}

/* How the literals of the current statement are treated. */
enum stmt_mode {
    M_NORM, /* DML: literals become placeholders */
    M_KEEP, /* utility statement: literals stay */
    M_SET,  /* SET: literals stay until '=' or TO, then M_NORM */
};

/*
 * Rare lexer states, as bits of struct norm.st, so that the fast path tests
 * them all at once.
 */
enum st_bit {
    ST_SEMI = 1 << 0,     /* a ';' is written if another statement follows */
    ST_START = 1 << 1,    /* the next token starts a statement */
    ST_EXPLAIN = 1 << 2,  /* the last token was EXPLAIN starting a statement */
    ST_PREPARE = 1 << 3,  /* the last token was PREPARE starting a statement */
    ST_SET = 1 << 4,      /* the statement is SET and has not reached '=' or TO */
    ST_TC_START = 1 << 5, /* after '::' or AS: a type name may follow */
    ST_TC_NAME = 1 << 6,  /* after a word of a type name: modifiers may follow */
    ST_TC_DOT = 1 << 7,   /* after "schema." in a type name */
    ST_SKIP = 1 << 8,     /* a list collapse is armed: skip_at is set */
};

#define ST_TC_MASK (ST_TC_START | ST_TC_NAME | ST_TC_DOT)

/* Keyword properties. */
enum kw_flag {
    KW_NONOPERAND = 1 << 0, /* an expression may follow: '-' after it is unary */
    KW_TYPMOD = 1 << 1,     /* "(n)" after it is a type modifier */
    KW_TYPECONT = 1 << 2,   /* continues a multi-word type name */
    KW_DML = 1 << 3,        /* a statement that starts with it is normalized */
    KW_SET = 1 << 4,        /* SET */
    KW_IN = 1 << 5,         /* IN: a list may follow */
    KW_VALUES = 1 << 6,     /* VALUES: rows may follow */
    KW_ARRAY = 1 << 7,      /* ARRAY: a list may follow */
    KW_TO = 1 << 8,         /* TO: ends the name part of SET */
    KW_EXPLAIN = 1 << 9,    /* EXPLAIN: its first '(' holds options */
    KW_PREPARE = 1 << 10,   /* PREPARE: unless PREPARE TRANSACTION 'gid' */
};

struct keyword {
    const char *word;
    uint8_t len;
    uint16_t flags;
};

#define KW(w, f)            \
    {                       \
        w, sizeof(w) - 1, f \
    }
#define N KW_NONOPERAND

/*
 * The words the lexer needs to know, in alphabetical order for the reader
 * (lookups go through kw_index). The non-operand words are PostgreSQL 15's
 * reserved keywords minus those that are values (CURRENT_DATE, NULL, TRUE,
 * END, ...), plus a few that precede an expression (BETWEEN, BY, ESCAPE,
 * ILIKE, IS, LIKE, SIMILAR).
 */
static const struct keyword keywords[] = {
    KW("all", N),
    KW("analyse", N),
    KW("analyze", N),
    KW("and", N),
    KW("any", N),
    KW("array", N | KW_ARRAY),
    KW("as", N),
    KW("asc", N),
    KW("asymmetric", N),
    KW("between", N),
    KW("bit", KW_TYPMOD),
    KW("both", N),
    KW("by", N),
    KW("call", KW_DML),
    KW("case", N),
    KW("cast", N),
    KW("char", KW_TYPMOD | KW_TYPECONT),
    KW("character", KW_TYPMOD | KW_TYPECONT),
    KW("check", N),
    KW("collate", N),
    KW("column", N),
    KW("constraint", N),
    KW("create", N),
    KW("current_time", KW_TYPMOD),
    KW("current_timestamp", KW_TYPMOD),
    KW("day", KW_TYPECONT),
    KW("dec", KW_TYPMOD),
    KW("decimal", KW_TYPMOD),
    KW("declare", KW_DML),
    KW("default", N),
    KW("deferrable", N),
    KW("delete", KW_DML),
    KW("desc", N),
    KW("distinct", N),
    KW("do", N),
    KW("else", N),
    KW("escape", N),
    KW("except", N),
    KW("execute", KW_DML),
    KW("explain", KW_DML | KW_EXPLAIN),
    KW("fetch", N),
    KW("float", KW_TYPMOD),
    KW("for", N),
    KW("foreign", N),
    KW("from", N),
    KW("grant", N),
    KW("group", N),
    KW("having", N),
    KW("hour", KW_TYPECONT),
    KW("ilike", N),
    KW("in", N | KW_IN),
    KW("initially", N),
    KW("insert", KW_DML),
    KW("intersect", N),
    KW("interval", KW_TYPMOD),
    KW("into", N),
    KW("is", N),
    KW("lateral", N),
    KW("leading", N),
    KW("like", N),
    KW("limit", N),
    KW("localtime", KW_TYPMOD),
    KW("localtimestamp", KW_TYPMOD),
    KW("merge", KW_DML),
    KW("minute", KW_TYPECONT),
    KW("month", KW_TYPECONT),
    KW("nchar", KW_TYPMOD),
    KW("not", N),
    KW("numeric", KW_TYPMOD),
    KW("offset", N),
    KW("on", N),
    KW("only", N),
    KW("or", N),
    KW("order", N),
    KW("placing", N),
    KW("precision", KW_TYPECONT),
    KW("prepare", KW_DML | KW_PREPARE),
    KW("primary", N),
    KW("references", N),
    KW("returning", N),
    KW("second", KW_TYPMOD | KW_TYPECONT),
    KW("select", N | KW_DML),
    KW("set", KW_SET),
    KW("similar", N),
    KW("some", N),
    KW("symmetric", N),
    KW("table", N | KW_DML),
    KW("then", N),
    KW("time", KW_TYPMOD | KW_TYPECONT),
    KW("timestamp", KW_TYPMOD),
    KW("to", N | KW_TO | KW_TYPECONT),
    KW("trailing", N),
    KW("union", N),
    KW("unique", N),
    KW("update", KW_DML),
    KW("using", N),
    KW("values", KW_DML | KW_VALUES),
    KW("varchar", KW_TYPMOD),
    KW("variadic", N),
    KW("varying", KW_TYPMOD | KW_TYPECONT),
    KW("when", N),
    KW("where", N),
    KW("window", N),
    KW("with", N | KW_DML | KW_TYPECONT),
    KW("without", KW_TYPECONT),
    KW("year", KW_TYPECONT),
    KW("zone", KW_TYPECONT),
};

#undef N
#undef KW

/*
 * An open-addressing index over keywords[], built once: a word is hashed
 * from its length and three of its bytes, which is all a lookup reads
 * besides one comparison, because a word's flags are wanted at every
 * statement start and at every '(' after a word.
 */
#define KW_HASH_BITS 9
static uint8_t kw_index[1 << KW_HASH_BITS]; /* 1 + index into keywords[], 0 if free */
static pthread_once_t kw_once = PTHREAD_ONCE_INIT;

static inline uint32_t kw_hash(const char *w, size_t len)
{
    uint32_t h =
        (uint32_t)UC(w[0]) << 16 ^ (uint32_t)UC(w[1]) << 8 ^ UC(w[len - 1]) ^ (uint32_t)len << 24;
    return (h * 0x9E3779B1u) >> (32 - KW_HASH_BITS);
}

static void kw_build(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(keywords); i++) {
        uint32_t h = kw_hash(keywords[i].word, keywords[i].len);
        while (kw_index[h])
            h = (h + 1) & ((1u << KW_HASH_BITS) - 1);
        kw_index[h] = (uint8_t)(i + 1);
    }
}

/* Flags of a lower-case word, 0 if it is not a keyword. */
static unsigned kw_flags(const char *w, size_t len)
{
    if (len < 2 || len > 17)
        return 0;
    for (uint32_t h = kw_hash(w, len);; h = (h + 1) & ((1u << KW_HASH_BITS) - 1)) {
        unsigned i = kw_index[h];
        if (!i)
            return 0;
        const struct keyword *k = &keywords[i - 1];
        if (k->len != len)
            continue;
        size_t j = 0;
        while (j < len && k->word[j] == w[j])
            j++;
        if (j == len)
            return k->flags;
    }
}

/* The lexer state of one normalize_sql call. */
struct norm {
    const char *p;       /* next input byte */
    const char *end;     /* end of the input */
    char *o;             /* next output byte */
    char *olim;          /* the output must end at or before this */
    const char *skip_at; /* where the kept part of a collapsed list ends, or NULL */
    const char *skip_to; /* where lexing resumes after the marker */
    const char *word;    /* the last word written, lower-cased, in the output */
    size_t word_len;     /* its length */
    unsigned long ph;    /* number of the next placeholder */
    unsigned flags;      /* enum normalize_flag */
    unsigned st;         /* enum st_bit */
    size_t depth;        /* parentheses open in this statement */
    size_t keep_depth;   /* depth outside EXPLAIN's option list, or SIZE_MAX */
    size_t semi_depth;   /* depth when the last ';' ended a statement */
    enum tok prev;       /* kind of the last token written */
    enum stmt_mode mode; /* how this statement treats literals */
    bool sep;            /* whitespace or a comment since the last token */
    bool lits;           /* literals become placeholders here */
};

/* ---- Scanning: pure functions from a position to the end of a construct. ---- */

static bool is_marker(const char *p, const char *end)
{
    return (size_t)(end - p) >= MARKER_LEN && memcmp(p, NORMALIZE_MARKER, MARKER_LEN) == 0;
}

/* p is at "--"; returns the newline that ends the comment, or end. */
static const char *skip_line_comment(const char *p, const char *end)
{
    p += 2;
    while (p < end && *p != '\n' && *p != '\r')
        p++;
    return p;
}

/* p is at "/ *"; returns the end of the (nested) comment, or end with *unterm set. */
static const char *skip_block_comment(const char *p, const char *end, bool *unterm)
{
    size_t depth = 1;
    p += 2;
    while (p + 1 < end) {
        if (p[0] == '*' && p[1] == '/') {
            p += 2;
            if (--depth == 0)
                return p;
        } else if (p[0] == '/' && p[1] == '*') {
            p += 2;
            depth++;
        } else {
            p++;
        }
    }
    *unterm = true;
    return end;
}

/* Skips whitespace and comments, but stops at the marker. */
static const char *skip_gap(const char *p, const char *end)
{
    bool unterm = false;
    while (p < end) {
        if (HAS(*p, F_SPACE))
            p++;
        else if (*p == '-' && p + 1 < end && p[1] == '-')
            p = skip_line_comment(p, end);
        else if (*p == '/' && p + 1 < end && p[1] == '*' && !is_marker(p, end))
            p = skip_block_comment(p, end, &unterm);
        else
            break;
    }
    return p;
}

/* skip_gap, quicker over the single blanks that usually separate list elements. */
static inline const char *skip_gap_fast(const char *p, const char *end)
{
    while (p < end && *p == ' ')
        p++;
    if (p < end && HAS(*p, F_GAP))
        p = skip_gap(p, end);
    return p;
}

/*
 * p is just after an opening quote; returns the byte after the closing one,
 * or end with *unterm set. '' is a quote inside the string; with
 * backslashes (E'...'), so is \'.
 */
static const char *scan_quoted(const char *p, const char *end, char quote, bool backslash,
                               bool *unterm)
{
    for (;;) {
        if (backslash) {
            while (p < end && *p != quote && *p != '\\')
                p++;
        } else {
            p = memchr(p, quote, (size_t)(end - p));
            if (!p)
                p = end;
        }
        if (p >= end)
            break;
        if (*p == '\\') {
            p = end - p > 2 ? p + 2 : end;
            continue;
        }
        if (p + 1 < end && p[1] == quote) {
            p += 2;
            continue;
        }
        return p + 1;
    }
    *unterm = true;
    return end;
}

/*
 * After a string constant: whitespace holding a newline, then a quote,
 * continues the same constant (SQL's 'foo'\n'bar'). Returns that quote, or
 * NULL. Line comments count as whitespace here, as in scan.l.
 */
static const char *continuation(const char *p, const char *end)
{
    bool newline = false;
    while (p < end) {
        if (*p == '\n' || *p == '\r') {
            newline = true;
            p++;
        } else if (HAS(*p, F_SPACE)) {
            p++;
        } else if (*p == '-' && p + 1 < end && p[1] == '-') {
            p = skip_line_comment(p, end);
        } else {
            break;
        }
    }
    return newline && p < end && *p == '\'' ? p : NULL;
}

/*
 * After a U&'...' or U&"...": an optional UESCAPE 'c' belongs to it. Comments
 * may stand around UESCAPE (PostgreSQL reads it as a separate token); they
 * must count here, or dropping them would join what they kept apart.
 */
static const char *scan_uescape(const char *p, const char *end)
{
    const char *q = skip_gap(p, end);
    if (end - q < 7)
        return p;
    for (int i = 0; i < 7; i++) {
        if (lower[UC(q[i])] != "uescape"[i])
            return p;
    }
    q += 7;
    if (q < end && HAS(*q, F_IDCONT))
        return p;
    q = skip_gap(q, end);
    if (q >= end || *q != '\'')
        return p;
    bool unterm = false;
    q = scan_quoted(q + 1, end, '\'', false, &unterm);
    return unterm ? p : q;
}

/*
 * p is at a string constant: a quote, or a prefix letter (E, B, X, N, U&)
 * followed by one. Returns its end, continuation lines and UESCAPE included.
 */
static const char *scan_string(const char *p, const char *end, bool *unterm)
{
    bool backslash = false, unicode = false;
    if (*p != '\'') {
        char c = (char)lower[UC(*p)];
        backslash = c == 'e';
        unicode = c == 'u';
        p += unicode ? 2 : 1;
    }
    for (;;) {
        p = scan_quoted(p + 1, end, '\'', backslash, unterm);
        if (*unterm)
            return end;
        const char *q = continuation(p, end);
        if (!q)
            break;
        p = q;
    }
    return unicode ? scan_uescape(p, end) : p;
}

/* Says whether p starts a prefixed string (E'', B'', X'', N'', U&'') or U&"". */
static bool is_prefixed(const char *p, const char *end, char quote)
{
    char c = (char)lower[UC(*p)];
    if (c == 'u')
        return end - p >= 3 && p[1] == '&' && p[2] == quote;
    return quote == '\'' && end - p >= 2 && p[1] == '\'' &&
           (c == 'e' || c == 'b' || c == 'x' || c == 'n');
}

/*
 * p is at '$' not followed by a digit. Returns the end of a dollar-quoted
 * constant ($tag$...$tag$), or NULL if p does not start one.
 */
static const char *scan_dollar(const char *p, const char *end, bool *unterm)
{
    const char *q = p + 1;
    if (q < end && *q != '$') {
        if (!HAS(*q, F_TAG) || HAS(*q, F_DIGIT))
            return NULL;
        while (q < end && HAS(*q, F_TAG))
            q++;
    }
    if (q >= end || *q != '$')
        return NULL;
    size_t taglen = (size_t)(q + 1 - p);
    /* A tag holds no '$', so a failed comparison never overlaps the next one. */
    for (const char *r = q + 1; r < end; r++) {
        r = memchr(r, '$', (size_t)(end - r));
        if (!r)
            break;
        if ((size_t)(end - r) >= taglen && memcmp(r, p, taglen) == 0)
            return r + taglen;
    }
    *unterm = true;
    return end;
}

/*
 * p is at a digit, or at '.' before one. Returns the end of the number;
 * letters glued to it (0x1F, 1_000, 12abc) belong to it, as PostgreSQL 16
 * reads them and PostgreSQL 15 rejects them.
 */
static const char *scan_number(const char *p, const char *end)
{
    while (p < end && HAS(*p, F_DIGIT))
        p++;
    if (p < end && *p == '.' && !(p + 1 < end && p[1] == '.')) {
        p++;
        while (p < end && HAS(*p, F_DIGIT))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        const char *q = p + 1;
        if (q < end && (*q == '+' || *q == '-'))
            q++;
        if (q < end && HAS(*q, F_DIGIT))
            p = q;
    }
    while (p < end && HAS(*p, F_IDCONT))
        p++;
    return p;
}

/* scan_number for the common case, a run of digits followed by a separator. */
static inline const char *scan_digits(const char *p, const char *end)
{
    const char *q = p + 1;
    while (q < end && HAS(*q, F_DIGIT))
        q++;
    if (q < end && (HAS(*q, F_IDCONT) || *q == '.'))
        return scan_number(p, end);
    return q;
}

static bool starts_number(const char *p, const char *end)
{
    return p < end && (HAS(*p, F_DIGIT) || (*p == '.' && p + 1 < end && HAS(p[1], F_DIGIT)));
}

/* p is at '$' and a digit; returns the end of the parameter. */
static const char *scan_param(const char *p, const char *end)
{
    p++;
    while (p < end && HAS(*p, F_IDCONT))
        p++;
    return p;
}

/*
 * Returns the end of a list element at p (a literal, optionally negative, a
 * parameter or NULL), or NULL if p starts anything else. The tokens end
 * exactly where the main loop will end them.
 */
static const char *scan_elem(const char *p, const char *end)
{
    bool unterm = false;
    const char *q;
    switch (cclass[UC(*p)]) {
    case CC_QUOTE:
        return scan_string(p, end, &unterm);
    case CC_DIGIT:
    case CC_DOT:
        return starts_number(p, end) ? scan_number(p, end) : NULL;
    case CC_OP:
        if (*p != '-')
            return NULL;
        for (q = p + 1; q < end && HAS(*q, F_SPACE); q++)
            ;
        return starts_number(q, end) ? scan_number(q, end) : NULL;
    case CC_DOLLAR:
        if (p + 1 < end && HAS(p[1], F_DIGIT))
            return scan_param(p, end);
        return scan_dollar(p, end, &unterm);
    case CC_IDENT:
        if (is_prefixed(p, end, '\''))
            return scan_string(p, end, &unterm);
        if (end - p >= 4 && lower[UC(p[0])] == 'n' && lower[UC(p[1])] == 'u' &&
            lower[UC(p[2])] == 'l' && lower[UC(p[3])] == 'l' &&
            (end - p == 4 || !HAS(p[4], F_IDCONT)))
            return p + 4;
        return NULL;
    default:
        return NULL;
    }
}

/*
 * p is at an opening bracket. Checks that what follows, up to the matching
 * close, is elements separated by commas (and, if marker_ok, markers after
 * the first element). Returns the closing bracket and sets *first_end to
 * where the token after the first element starts (the main loop stops
 * there: it is never inside whitespace), or returns NULL.
 */
static const char *scan_consts(const char *p, const char *end, char close, bool marker_ok,
                               const char **first_end)
{
    *first_end = NULL;
    for (p++;;) {
        p = skip_gap_fast(p, end);
        if (p >= end)
            return NULL;
        const char *e = HAS(*p, F_DIGIT) ? scan_digits(p, end) : scan_elem(p, end);
        if (!e)
            return NULL;
        if (!*first_end)
            *first_end = skip_gap(e, end);
        /* After an element: ',' and the next one, the close, or markers first. */
        for (p = e;;) {
            p = skip_gap_fast(p, end);
            if (p >= end)
                return NULL;
            if (*p == ',')
                break;
            if (*p == close)
                return p;
            if (!marker_ok || !is_marker(p, end))
                return NULL;
            p += MARKER_LEN;
        }
        p++;
    }
}

/* ---- Writing. ---- */

static void set_mode(struct norm *n, enum stmt_mode mode)
{
    n->mode = mode;
    n->lits = mode == M_NORM && n->keep_depth == SIZE_MAX;
    n->st = (n->st & ~(unsigned)ST_SET) | (mode == M_SET ? ST_SET : 0);
    if (mode == M_KEEP)
        n->flags |= NORM_UTILITY;
}

static void set_tctx(struct norm *n, unsigned tc)
{
    n->st = (n->st & ~(unsigned)ST_TC_MASK) | tc;
}

/*
 * Starts an output token of the given kind and at most len bytes: writes a
 * pending ';' and the separating space, and ends the one-token states.
 * Returns false, and ends the run, if the output would pass its bound.
 */
static bool tok_begin(struct norm *n, enum tok kind, size_t len)
{
    if (UNLIKELY((size_t)(n->olim - n->o) < len + 2)) {
        n->flags |= NORM_LIMIT;
        n->p = n->end;
        n->skip_at = NULL;
        n->st &= ~(unsigned)ST_SKIP;
        return false;
    }
    if (n->st & ST_SEMI) {
        if (n->prev != T_START) {
            *n->o++ = ';';
            n->prev = T_SEMI;
            n->flags |= NORM_MULTI;
        }
    }
    if ((n->st & ST_START) && kind != T_MARKER) {
        n->st &= ~(unsigned)ST_START;
        set_mode(n, M_NORM);
    }
    *n->o = ' ';
    n->o += space_between(n->prev, kind, n->sep);
    n->prev = kind;
    n->sep = false;
    n->st &= ~(unsigned)(ST_SEMI | ST_EXPLAIN | ST_PREPARE | ST_TC_MASK);
    return true;
}

static void put_raw(struct norm *n, enum tok kind, const char *s, const char *e)
{
    n->p = e;
    if (tok_begin(n, kind, (size_t)(e - s))) {
        memcpy(n->o, s, (size_t)(e - s));
        n->o += e - s;
    }
}

/* Writes "$" and the number v at o; returns the new end. */
static inline char *put_ph(char *o, unsigned long v)
{
    *o++ = '$';
    if (LIKELY(v < 10)) {
        *o++ = (char)('0' + v);
        return o;
    }
    char digits[PH_MAX_LEN];
    size_t i = sizeof(digits);
    do {
        digits[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    memcpy(o, digits + i, sizeof(digits) - i);
    return o + sizeof(digits) - i;
}

/* Writes the literal [s, e) as the next placeholder, or verbatim where literals stay. */
static void put_literal(struct norm *n, const char *s, const char *e, enum tok raw_kind)
{
    if (!n->lits) {
        if (n->mode == M_SET)
            n->flags |= NORM_SET_LITERAL;
        else if (n->mode == M_NORM && raw_kind == T_LIT)
            n->flags |= NORM_OPTION_LITERAL;
        put_raw(n, raw_kind, s, e);
        return;
    }
    n->p = e;
    if (tok_begin(n, T_PARAM, PH_MAX_LEN))
        n->o = put_ph(n->o, n->ph++);
}

static void put_char(struct norm *n, enum tok kind, char c)
{
    n->p++;
    if (tok_begin(n, kind, 1))
        *n->o++ = c;
}

/*
 * Copies the word at p (at least one byte) to o, lower-cased, and returns
 * its length. May write up to SLACK bytes past the word.
 */
static inline size_t copy_word(const char *p, const char *end, char *o)
{
    size_t len = 0;
#if defined(__SSE2__)
    const __m128i k20 = _mm_set1_epi8(0x20);
    while ((size_t)(end - p) - len >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + len));
        /* Range checks: x + (0x80 - lo) is below 0x80 + n (signed) iff lo <= x < lo + n. */
        __m128i letter = _mm_cmplt_epi8(_mm_add_epi8(_mm_or_si128(v, k20), _mm_set1_epi8(0x1F)),
                                        _mm_set1_epi8(-128 + 26));
        __m128i upper =
            _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8(0x3F)), _mm_set1_epi8(-128 + 26));
        __m128i digit =
            _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8(0x50)), _mm_set1_epi8(-128 + 10));
        __m128i other = _mm_or_si128(_mm_cmplt_epi8(v, _mm_setzero_si128()),
                                     _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('_')),
                                                  _mm_cmpeq_epi8(v, _mm_set1_epi8('$'))));
        __m128i id = _mm_or_si128(_mm_or_si128(letter, digit), other);
        _mm_storeu_si128((__m128i *)(void *)(o + len), _mm_add_epi8(v, _mm_and_si128(upper, k20)));
        unsigned stop = ~(unsigned)_mm_movemask_epi8(id) & 0xFFFF;
        if (stop)
            return len + (size_t)__builtin_ctz(stop);
        len += 16;
    }
#endif
    while (p + len < end && (len == 0 || HAS(p[len], F_IDCONT))) {
        o[len] = (char)lower[UC(p[len])];
        len++;
    }
    return len;
}

/* ---- Tokens that need the whole state (the slow path). ---- */

/* Whether the last token is an operand, so that a '-' after it is binary. */
static bool prev_is_operand(const struct norm *n)
{
    if (n->st & (ST_SEMI | ST_START))
        return false;
    if (n->prev == T_WORD)
        return !(kw_flags(n->word, n->word_len) & KW_NONOPERAND);
    return IS_OPERAND_KIND(n->prev);
}

/* After the first word of a statement: how the statement treats literals. */
static void word_after_start(struct norm *n)
{
    unsigned f = kw_flags(n->word, n->word_len);
    if (f & KW_DML) {
        set_mode(n, M_NORM);
        n->st |= (f & KW_EXPLAIN ? ST_EXPLAIN : 0) | (f & KW_PREPARE ? ST_PREPARE : 0);
    } else {
        set_mode(n, f & KW_SET ? M_SET : M_KEEP);
    }
}

/* A U&"identifier", with its UESCAPE clause. */
static void lex_unicode_ident(struct norm *n)
{
    const char *s = n->p;
    bool unterm = false;
    const char *e = scan_quoted(s + 3, n->end, '"', false, &unterm);
    n->flags |= unterm ? NORM_TRUNCATED : 0;
    put_raw(n, T_QIDENT, s, unterm ? e : scan_uescape(e, n->end));
}

static void lex_word(struct norm *n)
{
    const char *s = n->p, *end = n->end, *q = s + 1;
    if (UNLIKELY(is_prefixed(s, end, '\''))) {
        bool unterm = false;
        const char *e = scan_string(s, end, &unterm);
        n->flags |= unterm ? NORM_TRUNCATED : 0;
        put_literal(n, s, e, T_LIT);
        return;
    }
    if (UNLIKELY(is_prefixed(s, end, '"'))) {
        lex_unicode_ident(n);
        return;
    }
    size_t len;
    unsigned st = n->st;
    if ((size_t)(n->olim - n->o) >= (size_t)(end - s) + 2) {
        /* Room for the rest of the input: copy and measure in one go. */
        tok_begin(n, T_WORD, 0);
        len = copy_word(s, end, n->o);
    } else {
        while (q < end && HAS(*q, F_IDCONT))
            q++;
        len = (size_t)(q - s);
        if (!tok_begin(n, T_WORD, len))
            return;
        for (size_t i = 0; i < len; i++)
            n->o[i] = (char)lower[UC(s[i])];
    }
    char *w = n->o;
    n->p = s + len;
    n->o += len;
    n->word = w;
    n->word_len = len;
    if (st & ST_START) {
        word_after_start(n);
    } else if ((st & ST_PREPARE) && len == 11 && memcmp(w, "transaction", 11) == 0) {
        set_mode(n, M_KEEP);
    } else if (st & (ST_TC_START | ST_TC_DOT)) {
        set_tctx(n, ST_TC_NAME);
    } else if (len == 2 && w[0] == 'a' && w[1] == 's') {
        set_tctx(n, n->lits ? ST_TC_START : 0);
    } else if (st & (ST_TC_NAME | ST_SET)) {
        unsigned f = kw_flags(w, len);
        if ((st & ST_TC_NAME) && (f & KW_TYPECONT))
            set_tctx(n, ST_TC_NAME);
        if ((st & ST_SET) && (f & KW_TO))
            set_mode(n, M_NORM);
    }
}

static void lex_quoted_ident(struct norm *n)
{
    bool unterm = false;
    unsigned st = n->st;
    const char *e = scan_quoted(n->p + 1, n->end, '"', false, &unterm);
    n->flags |= unterm ? NORM_TRUNCATED : 0;
    put_raw(n, T_QIDENT, n->p, e);
    if (st & (ST_TC_START | ST_TC_DOT))
        set_tctx(n, ST_TC_NAME);
}

static void lex_dollar(struct norm *n)
{
    const char *s = n->p;
    bool unterm = false;
    if (s + 1 < n->end && HAS(s[1], F_DIGIT)) {
        n->flags |= NORM_HAS_PARAMS;
        put_raw(n, T_PARAM, s, scan_param(s, n->end));
        return;
    }
    const char *e = scan_dollar(s, n->end, &unterm);
    if (!e) {
        put_char(n, T_OTHER, '$');
        return;
    }
    n->flags |= unterm ? NORM_TRUNCATED : 0;
    put_literal(n, s, e, T_LIT);
}

/*
 * '-' where it is unary, before a number: writes them as one literal and
 * returns true. Where literals become placeholders, blanks may separate
 * them ("- 5" is folded too); elsewhere they stay as written.
 */
static bool lex_negative(struct norm *n)
{
    const char *s = n->p, *q = s + 1;
    if (prev_is_operand(n))
        return false;
    if (n->lits) {
        while (q < n->end && HAS(*q, F_SPACE))
            q++;
    }
    if (!starts_number(q, n->end))
        return false;
    put_literal(n, s, scan_number(q, n->end), T_NUM);
    return true;
}

static void lex_comment(struct norm *n)
{
    const char *s = n->p;
    bool unterm = false;
    if (s[0] == '-') {
        n->p = skip_line_comment(s, n->end);
    } else if (is_marker(s, n->end)) {
        put_raw(n, T_MARKER, s, s + MARKER_LEN);
        return;
    } else {
        n->p = skip_block_comment(s, n->end, &unterm);
        n->flags |= unterm ? NORM_TRUNCATED : 0;
    }
    n->sep = true;
}

/* scan.l keeps a trailing '+' or '-' only in operators that hold one of ~!@#^&|`?%. */
static bool op_keeps_sign(const char *s, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (HAS(s[i], F_SIGNOP))
            return true;
    }
    return false;
}

/*
 * An operator: the longest run of operator characters that holds no comment
 * start, less trailing '+'/'-' unless it holds one of ~!@#^&|`?% (so that
 * "=-5" is '=' and '-5'), as scan.l does.
 */
static void lex_op(struct norm *n)
{
    const char *s = n->p, *end = n->end, *q = s + 1;
    if (q < end && ((s[0] == '-' && q[0] == '-') || (s[0] == '/' && q[0] == '*'))) {
        lex_comment(n);
        return;
    }
    while (q < end && HAS(*q, F_OP)) {
        if (q + 1 < end && ((q[0] == '-' && q[1] == '-') || (q[0] == '/' && q[1] == '*')))
            break;
        q++;
    }
    size_t len = (size_t)(q - s);
    if (len > 1 && (q[-1] == '+' || q[-1] == '-') && !op_keeps_sign(s, len)) {
        while (len > 1 && (s[len - 1] == '+' || s[len - 1] == '-'))
            len--;
    }
    if (len == 1 && *s == '-' && lex_negative(n))
        return;
    bool set = (n->st & ST_SET) && len == 1 && *s == '=';
    put_raw(n, T_OP, s, s + len);
    if (set)
        set_mode(n, M_NORM);
}

/*
 * A type modifier list "(10, 2)" (or an array bound "[3]", "[]") at p,
 * written verbatim with canonical spacing. Returns false if p does not
 * start one. Comments count as blanks here, as in every look-ahead: the
 * output drops them, so deciding otherwise would break idempotence.
 */
static bool lex_typmod(struct norm *n, char close)
{
    const char *p = n->p + 1, *end = n->end, *s = n->p;
    size_t count = 0;
    for (;;) {
        p = skip_gap(p, end);
        if (p < end && *p == close && (count > 0 || close == ']'))
            break;
        if (count > 0 && (close == ']' || p >= end || *p != ','))
            return false;
        if (count > 0)
            p = skip_gap(p + 1, end);
        if (p >= end || !HAS(*p, F_DIGIT))
            return false;
        while (p < end && HAS(*p, F_DIGIT))
            p++;
        count++;
    }
    n->p = p + 1;
    if (!tok_begin(n, close == ')' ? T_LPAREN : T_LBRACK, 2 * (size_t)(p + 1 - s)))
        return true;
    /* Checked above: digits, then (gap ',' gap digits)*, a gap and the close. */
    *n->o++ = *s;
    for (const char *q = skip_gap(s + 1, end); q < p;) {
        if (*q == ',') {
            *n->o++ = ',';
            *n->o++ = ' ';
            q++;
        }
        while (q < p && HAS(*q, F_DIGIT))
            *n->o++ = *q++;
        q = skip_gap(q, end);
    }
    *n->o++ = close;
    n->prev = close == ')' ? T_RPAREN : T_RBRACK;
    set_tctx(n, ST_TC_NAME);
    return true;
}

/* Arms the collapse of an IN (...) or ARRAY[...] list at p if it holds only literals. */
static void try_list(struct norm *n, char close)
{
    const char *first_end;
    const char *c = scan_consts(n->p, n->end, close, true, &first_end);
    if (!c)
        return;
    n->skip_at = first_end;
    n->skip_to = c;
    n->st |= ST_SKIP;
    n->flags |= NORM_COLLAPSED;
}

/* Arms the collapse of VALUES rows at p if there are several and all hold only literals. */
static void try_values(struct norm *n)
{
    const char *p = n->p, *end = n->end, *first_end = NULL, *first, *e;
    for (unsigned rows = 1;; rows++) {
        e = scan_consts(p, end, ')', false, &first);
        if (!e)
            return;
        p = skip_gap(e + 1, end);
        if (rows == 1)
            first_end = p;
        if (p < end && *p == ',') {
            p = skip_gap(p + 1, end);
            if (p >= end || *p != '(')
                return;
        } else if (p < end && *p == '/' && is_marker(p, end)) {
            p += MARKER_LEN;
            break;
        } else if (rows > 1) {
            p = e + 1;
            break;
        } else {
            return;
        }
    }
    n->skip_at = first_end;
    n->skip_to = p;
    n->st |= ST_SKIP;
    n->flags |= NORM_COLLAPSED;
}

static void lex_lparen(struct norm *n)
{
    if (n->lits && !(n->st & (ST_SEMI | ST_SKIP))) {
        if (n->st & ST_TC_NAME) {
            if (lex_typmod(n, ')'))
                return;
        } else if (n->prev == T_WORD) {
            unsigned f = kw_flags(n->word, n->word_len);
            if ((f & KW_TYPMOD) && lex_typmod(n, ')'))
                return;
            if (f & KW_IN)
                try_list(n, ')');
            else if (f & KW_VALUES)
                try_values(n);
        }
    }
    bool options = n->st & ST_EXPLAIN;
    put_char(n, T_LPAREN, '(');
    if (options && n->prev == T_LPAREN) {
        n->keep_depth = n->depth;
        set_mode(n, n->mode);
    }
    n->depth++;
}

static void lex_rparen(struct norm *n)
{
    put_char(n, T_RPAREN, ')');
    if (n->depth > 0)
        n->depth--;
    if (n->depth == n->keep_depth) {
        n->keep_depth = SIZE_MAX;
        set_mode(n, n->mode);
    }
}

static void lex_lbrack(struct norm *n)
{
    if (n->lits && !(n->st & (ST_SEMI | ST_SKIP))) {
        if ((n->st & ST_TC_NAME) && lex_typmod(n, ']'))
            return;
        if (n->prev == T_WORD && (kw_flags(n->word, n->word_len) & KW_ARRAY))
            try_list(n, ']');
    }
    put_char(n, T_LBRACK, '[');
}

static void lex_semi(struct norm *n)
{
    n->p++;
    if (!(n->st & ST_START))
        n->semi_depth = n->depth;
    n->st = (n->st & ~(unsigned)(ST_EXPLAIN | ST_PREPARE | ST_TC_MASK)) | ST_SEMI | ST_START;
    n->depth = 0;
    n->keep_depth = SIZE_MAX;
}

static void lex_colon(struct norm *n)
{
    const char *s = n->p;
    if (s + 1 < n->end && s[1] == ':') {
        put_raw(n, T_CAST, s, s + 2);
        set_tctx(n, ST_TC_START);
    } else if (s + 1 < n->end && s[1] == '=') {
        put_raw(n, T_OP, s, s + 2);
    } else {
        put_char(n, T_COLON, ':');
    }
}

static void lex_dot(struct norm *n)
{
    const char *s = n->p;
    if (starts_number(s, n->end)) {
        put_literal(n, s, scan_number(s, n->end), T_NUM);
        return;
    }
    unsigned st = n->st;
    put_char(n, T_DOT, '.');
    if (st & ST_TC_NAME)
        set_tctx(n, ST_TC_DOT);
}

/* At the end of the first element or row of a collapsed list: the marker, then the close. */
static void put_marker(struct norm *n)
{
    n->p = n->skip_to;
    n->skip_at = NULL;
    n->st &= ~(unsigned)ST_SKIP;
    if (tok_begin(n, T_MARKER, MARKER_LEN)) {
        memcpy(n->o, NORMALIZE_MARKER, MARKER_LEN);
        n->o += MARKER_LEN;
    }
}

/* Any one token (or run of whitespace) at n->p, in any state. */
static void lex_token(struct norm *n)
{
    const char *s = n->p;
    bool unterm = false;
    if (UNLIKELY((n->st & ST_SKIP) && s == n->skip_at)) {
        put_marker(n);
        return;
    }
    switch (cclass[UC(*s)]) {
    case CC_SPACE:
        do
            s++;
        while (s < n->end && HAS(*s, F_SPACE));
        n->p = s;
        n->sep = true;
        break;
    case CC_IDENT:
        lex_word(n);
        break;
    case CC_DIGIT:
        put_literal(n, s, scan_number(s, n->end), T_NUM);
        break;
    case CC_QUOTE:
        put_literal(n, s, scan_string(s, n->end, &unterm), T_LIT);
        n->flags |= unterm ? NORM_TRUNCATED : 0;
        break;
    case CC_DQUOTE:
        lex_quoted_ident(n);
        break;
    case CC_DOLLAR:
        lex_dollar(n);
        break;
    case CC_OP:
        lex_op(n);
        break;
    case CC_LPAREN:
        lex_lparen(n);
        break;
    case CC_RPAREN:
        lex_rparen(n);
        break;
    case CC_LBRACK:
        lex_lbrack(n);
        break;
    case CC_RBRACK:
        put_char(n, T_RBRACK, ']');
        break;
    case CC_COMMA:
        put_char(n, T_COMMA, ',');
        break;
    case CC_SEMI:
        lex_semi(n);
        break;
    case CC_COLON:
        lex_colon(n);
        break;
    case CC_DOT:
        lex_dot(n);
        break;
    default:
        put_char(n, T_OTHER, *s);
        break;
    }
}

/* ---- The fast path. ---- */

/* The hot part of the lexer state, which run() and the fast_ functions keep in registers. */
struct fast {
    const char *p;    /* next input byte */
    char *o;          /* next output byte */
    const char *word; /* the last word written */
    size_t word_len;  /* its length */
    unsigned st;      /* enum st_bit */
    enum tok prev;    /* kind of the last token written */
    bool sep;         /* whitespace since the last token */
};

/* Starts a token: the separating space. */
static inline void fast_begin(struct fast *f, enum tok kind)
{
    *f->o = ' ';
    f->o += space_between(f->prev, kind, f->sep);
    f->prev = kind;
    f->sep = false;
}

/*
 * Words separated by single blanks: they come out as they went in,
 * lower-cased, so they are copied in a tight loop (o - p does not grow, so
 * the bound holds). Returns false for a prefixed string (E'', U&"").
 */
static inline bool fast_words(const struct norm *n, struct fast *f)
{
    const char *end = n->end;
    if (UNLIKELY(f->p + 1 < end && (f->p[1] == '\'' || f->p[1] == '&')))
        return false;
    fast_begin(f, T_WORD);
    for (;;) {
        f->word = f->o;
        f->word_len = copy_word(f->p, end, f->o);
        f->p += f->word_len;
        f->o += f->word_len;
        if (UNLIKELY(f->word_len == 2 && f->word[0] == 'a' && f->word[1] == 's')) {
            f->st |= n->lits ? ST_TC_START : 0;
            return true;
        }
        const char *p = f->p;
        if (end - p < 3 || p[0] != ' ' || cclass[UC(p[1])] != CC_IDENT || p[2] == '\'' ||
            p[2] == '&')
            return true;
        *f->o++ = ' ';
        f->p++;
    }
}

static inline void fast_number(struct norm *n, struct fast *f)
{
    const char *e = scan_digits(f->p, n->end);
    if (n->lits) {
        fast_begin(f, T_PARAM);
        f->o = put_ph(f->o, n->ph++);
    } else {
        if (n->mode == M_SET)
            n->flags |= NORM_SET_LITERAL;
        fast_begin(f, T_NUM);
        memcpy(f->o, f->p, (size_t)(e - f->p));
        f->o += e - f->p;
    }
    f->p = e;
}

/* A plain '...' string that becomes a placeholder; false for anything else. */
static inline bool fast_string(struct norm *n, struct fast *f)
{
    bool unterm = false;
    if (!n->lits)
        return false;
    const char *e = scan_string(f->p, n->end, &unterm);
    if (unterm)
        return false;
    fast_begin(f, T_PARAM);
    f->o = put_ph(f->o, n->ph++);
    f->p = e;
    return true;
}

/* A $n parameter; false for a dollar quote or a lone '$'. */
static inline bool fast_param(struct norm *n, struct fast *f)
{
    if (!(f->p + 1 < n->end && HAS(f->p[1], F_DIGIT)))
        return false;
    const char *e = scan_param(f->p, n->end);
    fast_begin(f, T_PARAM);
    memcpy(f->o, f->p, (size_t)(e - f->p));
    f->o += e - f->p;
    f->p = e;
    n->flags |= NORM_HAS_PARAMS;
    return true;
}

/*
 * ',', ')', '(' not after a word, '.' not before a digit, and operators of
 * one character other than '-' and '/'; false for anything else.
 */
static inline bool fast_char(struct norm *n, struct fast *f, unsigned cls)
{
    const char *p = f->p;
    enum tok kind;
    switch (cls) {
    case CC_COMMA:
        kind = T_COMMA;
        break;
    case CC_RPAREN:
        if (n->keep_depth != SIZE_MAX)
            return false;
        n->depth -= n->depth > 0;
        kind = T_RPAREN;
        break;
    case CC_LPAREN:
        if (f->prev == T_WORD && n->lits)
            return false;
        n->depth++;
        kind = T_LPAREN;
        break;
    case CC_OP:
        if (*p == '-' || *p == '/' || (p + 1 < n->end && HAS(p[1], F_OP)))
            return false;
        kind = T_OP;
        break;
    case CC_DOT:
        if (p + 1 < n->end && HAS(p[1], F_DIGIT))
            return false;
        kind = T_DOT;
        break;
    default:
        return false;
    }
    fast_begin(f, kind);
    *f->o++ = *p;
    f->p++;
    return true;
}

/*
 * The first word of a statement (after the ';' that ends the previous one,
 * if any), which says how the statement treats literals. False for a
 * prefixed string.
 */
static bool fast_first_word(struct norm *n, struct fast *f)
{
    const char *end = n->end;
    if (f->p + 1 < end && (f->p[1] == '\'' || f->p[1] == '&'))
        return false;
    if ((f->st & ST_SEMI) && f->prev != T_START) {
        *f->o++ = ';';
        f->prev = T_SEMI;
        n->flags |= NORM_MULTI;
    }
    fast_begin(f, T_WORD);
    f->word = f->o;
    f->word_len = copy_word(f->p, end, f->o);
    f->p += f->word_len;
    f->o += f->word_len;
    n->word = f->word;
    n->word_len = f->word_len;
    n->st = 0;
    word_after_start(n);
    f->st = n->st;
    return true;
}

/*
 * The main loop. The common tokens are handled by the fast_ functions with
 * the hot state in registers; when a rare state bit is set, a collapsed
 * list's end is reached, the output is near its bound, or the token is
 * anything else, the state goes back into *n and lex_token() handles one
 * token.
 */
static void run(struct norm *n)
{
    struct fast f = { n->p, n->o, n->word, n->word_len, n->st, n->prev, n->sep };
    const char *end = n->end;
    /*
     * A fast token writes at most the bytes it reads plus PH_MAX_LEN + 1, so
     * while o - p stays below this the bound cannot be reached.
     */
    const ptrdiff_t fast_gap = (n->olim - n->end) - PH_MAX_LEN - 2;

    while (f.p < end) {
        unsigned blank = *f.p == ' ';
        f.sep |= blank;
        f.p += blank;
        if (UNLIKELY(f.p == end))
            break;
        unsigned cls = cclass[UC(*f.p)];
        if (UNLIKELY(f.st | (f.o - f.p > fast_gap))) {
            if ((f.st & ~(unsigned)ST_SEMI) == ST_START && cls == CC_IDENT &&
                f.o - f.p <= fast_gap && fast_first_word(n, &f))
                continue;
            goto slow;
        }
        if (LIKELY(cls == CC_IDENT)) {
            if (fast_words(n, &f))
                continue;
            goto slow;
        }
        switch (cls) {
        case CC_DIGIT:
            fast_number(n, &f);
            continue;
        case CC_QUOTE:
            if (fast_string(n, &f))
                continue;
            break;
        case CC_DOLLAR:
            if (fast_param(n, &f))
                continue;
            break;
        case CC_SPACE:
            do
                f.p++;
            while (f.p < end && HAS(*f.p, F_SPACE));
            f.sep = true;
            continue;
        default:
            if (fast_char(n, &f, cls))
                continue;
            break;
        }
    slow:
        n->p = f.p;
        n->o = f.o;
        n->word = f.word;
        n->word_len = f.word_len;
        n->st = f.st;
        n->prev = f.prev;
        n->sep = f.sep;
        lex_token(n);
        f = (struct fast){ n->p, n->o, n->word, n->word_len, n->st, n->prev, n->sep };
    }
    n->o = f.o;
}

unsigned normalize_sql(struct str sql, struct buf *out)
{
    ASSERT(sql.len <= (SIZE_MAX - 64 - SLACK) / 2 - 1);
    pthread_once(&kw_once, kw_build);
    size_t max = NORMALIZE_MAX_OUT(sql.len);
    buf_grow(out, max + SLACK);
    struct norm n = {
        .p = sql.len ? sql.ptr : "",
        .end = sql.len ? sql.ptr + sql.len : "",
        .o = out->ptr + out->len,
        .olim = out->ptr + out->len + max,
        .ph = 1,
        .st = ST_START,
        .keep_depth = SIZE_MAX,
        .prev = T_START,
        .mode = M_NORM,
        .lits = true,
    };
    run(&n);
    /* "select (1;" is as truncated as "select (1": look at the last statement that had tokens. */
    if ((n.st & ST_START ? n.semi_depth : n.depth) > 0)
        n.flags |= NORM_TRUNCATED;
    out->len = (size_t)(n.o - out->ptr);
    out->ptr[out->len] = '\0';
    return n.flags;
}

const char *normalize_flag_name(enum normalize_flag f)
{
    switch (f) {
#define NORMALIZE_FLAG_CASE(name, bit, json, doc) \
    case NORM_##name:                             \
        return json;
        NORMALIZE_FLAG_MAP(NORMALIZE_FLAG_CASE)
#undef NORMALIZE_FLAG_CASE
    }
    return NULL;
}
