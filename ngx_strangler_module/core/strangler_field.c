
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Fields of a comparison, as statistics count them: the path of a
 * difference with its array indexes folded, so that "$.items[3].id" and
 * "$.items[7].id" are one field, "$.items[*].id", and the number of
 * fields a route can have stays bounded by the shape of its answers, not
 * by their length.
 */


#include <string.h>

#include "strangler_compare.h"


size_t
strangler_field_fold(const char *path, size_t len, char *out, size_t size)
{
    size_t  i, j, n;
    int     quoted;

    if (size == 0) {
        return 0;
    }

    quoted = 0;

    for (i = 0, n = 0; i < len && n + 1 < size; i++) {

        /* ['key'] may hold brackets and digits: copied as it is */

        if (quoted) {
            if (path[i] == '\\' && i + 1 < len) {
                out[n++] = path[i++];

                if (n + 1 >= size) {
                    break;
                }

            } else if (path[i] == '\'') {
                quoted = 0;
            }

            out[n++] = path[i];
            continue;
        }

        if (path[i] == '[' && i + 1 < len && path[i + 1] == '\''
            && n + 2 < size)
        {
            quoted = 1;
            out[n++] = path[i++];
            out[n++] = path[i];
            continue;
        }

        if (path[i] == '[' && i + 1 < len
            && path[i + 1] >= '0' && path[i + 1] <= '9')
        {
            for (j = i + 1; j < len && path[j] >= '0' && path[j] <= '9'; j++) {
                /* void */
            }

            if (j < len && path[j] == ']') {
                if (n + 4 >= size) {
                    break;
                }

                memcpy(out + n, "[*]", 3);
                n += 3;
                i = j;
                continue;
            }
        }

        out[n++] = path[i];
    }

    out[n] = '\0';

    return n;
}
