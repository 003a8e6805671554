/*
 * The JSON-lines sink (see jsonl.h): the machine-readable end of `sleuth
 * watch`. It serialises what incident_json builds and adds nothing, so the
 * line, the webhook's generic body and the HTTP API agree field for field.
 */
#include "sink/jsonl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

int jsonl_incident_write(FILE *f, enum incident_change_kind change, const struct incident *inc,
                         struct err *err)
{
    json_t *o = json_object();
    json_object_set_new(o, "change", json_string(incident_change_name(change)));
    json_object_set_new(o, "incident", incident_json(inc));
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(o);
    if (!text)
        return err_set(err, ERR_IO, "cannot serialise incident %016" PRIx64, inc->id);

    /* One locked write, so lines from several threads never mix. */
    flockfile(f);
    errno = 0;
    bool ok = fputs(text, f) != EOF && putc_unlocked('\n', f) != EOF;
    ok = fflush(f) == 0 && ok;
    int saved = errno;
    funlockfile(f);
    free(text);
    if (!ok || ferror(f))
        return err_set(err, ERR_IO, "cannot write incident: %s",
                       saved ? strerror(saved) : "write error");
    return 0;
}
