/*
 * Magic numbers of compressed streams and archives; see magic.h. Used by
 * source.c to decide how an input is opened and by arcfile.c for the
 * members of an archive.
 */
#include "magic.h"

#include <string.h>

#include "util/banned.h"

const char *magic_compression(const void *head, size_t n)
{
    const unsigned char *b = head;
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
        return "gzip";
    if (n >= 3 && b[0] == 'B' && b[1] == 'Z' && b[2] == 'h')
        return "bzip2";
    if (n >= 6 && memcmp(b,
                         "\xfd"
                         "7zXZ\0",
                         6) == 0)
        return "xz";
    if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
        return "zstd";
    return NULL;
}

const char *magic_archive(const void *head, size_t n)
{
    const unsigned char *b = head;
    /* A local file header, or the end of the central directory of an empty zip. */
    if (n >= 4 && b[0] == 'P' && b[1] == 'K' &&
        ((b[2] == 3 && b[3] == 4) || (b[2] == 5 && b[3] == 6)))
        return "zip";
    if (n >= 6 && memcmp(b, "7z\xbc\xaf\x27\x1c", 6) == 0)
        return "7z";
    /*
     * The magic and version of the first header: "ustar\0" "00" (POSIX) or
     * "ustar  \0" (GNU). Both hold a NUL, which no log line puts there.
     */
    static const char posix[8] = { 'u', 's', 't', 'a', 'r', '\0', '0', '0' };
    static const char gnu[8] = { 'u', 's', 't', 'a', 'r', ' ', ' ', '\0' };
    if (n >= 265 && (memcmp(b + 257, posix, 8) == 0 || memcmp(b + 257, gnu, 8) == 0))
        return "tar";
    return NULL;
}
