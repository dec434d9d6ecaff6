/* clock — the two clocks Lester reads. Protocol cores never call these: they are
 * given `now_ms` by their caller (STYLE.md, protocols without I/O). */
#ifndef LS_LIB_CLOCK_H
#define LS_LIB_CLOCK_H

#include <stdint.h>

/** Milliseconds on a monotonic clock (for timers and durations). */
uint64_t clock_mono_ms(void);
/** Microseconds on a monotonic clock (for RTTs and benchmarks). */
uint64_t clock_mono_us(void);
/** Milliseconds since the Unix epoch (for timestamps stored or signed). */
uint64_t clock_wall_ms(void);

#endif
