
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * A minimal unit-test harness for the plain-C core.  Each test binary ends
 * with the line "unit: N passed, N failed" and exits non-zero on failure.
 */


#ifndef UNIT_H_INCLUDED_
#define UNIT_H_INCLUDED_


#include <stdio.h>
#include <string.h>


static unsigned  unit_passed;
static unsigned  unit_failed;


#define UNIT_CHECK(cond, ...)                                                 \
    do {                                                                      \
        if (cond) {                                                           \
            unit_passed++;                                                    \
        } else {                                                              \
            unit_failed++;                                                    \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, \
                    #cond);                                                   \
            fprintf(stderr, __VA_ARGS__);                                     \
            fputc('\n', stderr);                                              \
        }                                                                     \
    } while (0)


#define UNIT_STR_EQ(got, want)                                                \
    UNIT_CHECK((got) != NULL && strcmp((got), (want)) == 0,                   \
               "got \"%s\", want \"%s\"", (got) ? (got) : "(null)", (want))


static int
unit_report(const char *name)
{
    printf("%s: %u passed, %u failed\n", name, unit_passed, unit_failed);
    return unit_failed ? 1 : 0;
}


#endif /* UNIT_H_INCLUDED_ */
