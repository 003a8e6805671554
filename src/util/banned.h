/*
 * Functions that are easy to misuse (git's banned.h): unbounded copies and
 * the non-reentrant time functions. Every .c includes it after its other
 * headers (system headers declare these names), so any use is a compile
 * error.
 */
#ifndef SLEUTH_UTIL_BANNED_H
#define SLEUTH_UTIL_BANNED_H

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef localtime
#define localtime(t) BANNED(localtime)
#undef gmtime
#define gmtime(t) BANNED(gmtime)
#undef ctime
#define ctime(t) BANNED(ctime)
#undef asctime
#define asctime(t) BANNED(asctime)

#endif
