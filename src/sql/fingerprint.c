/*
 * Fingerprints; see fingerprint.h.
 */
#include "fingerprint.h"

#include <pg_query.h>
#include <string.h>
#include <xxhash.h>

#include "util/banned.h"

uint64_t fingerprint_hash(struct str s)
{
    return XXH3_64bits(s.ptr, s.len);
}

uint64_t fingerprint_sql(const char *normalized, size_t len, bool *parsed)
{
    /* libpg_query stops at a NUL; a text with one inside cannot be SQL. */
    if (memchr(normalized, '\0', len)) {
        *parsed = false;
        return fingerprint_hash(str_make(normalized, len));
    }
    PgQueryFingerprintResult r = pg_query_fingerprint(normalized);
    uint64_t fp;
    if (r.error) {
        *parsed = false;
        fp = fingerprint_hash(str_make(normalized, len));
    } else {
        *parsed = true;
        fp = r.fingerprint;
    }
    pg_query_free_fingerprint_result(r);
    return fp;
}

bool fingerprint_is_own(struct str raw)
{
    size_t i = 0;
    while (i < raw.len && (raw.ptr[i] == ' ' || raw.ptr[i] == '\t' || raw.ptr[i] == '\n'))
        i++;
    size_t n = sizeof(SQL_OWN_TAG) - 2; /* the comment, without its trailing space */
    return raw.len - i >= n && memcmp(raw.ptr + i, SQL_OWN_TAG, n) == 0;
}
