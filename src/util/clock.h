/*
 * Clocks in µs: the wall clock for timestamps (UTC, like every ts_us) and
 * the monotonic clock for deadlines and intervals, which must not jump
 * when the wall clock is set.
 */
#ifndef SLEUTH_UTIL_CLOCK_H
#define SLEUTH_UTIL_CLOCK_H

#include <stdint.h>

int64_t clock_realtime_us(void);
int64_t clock_mono_us(void);

#endif
