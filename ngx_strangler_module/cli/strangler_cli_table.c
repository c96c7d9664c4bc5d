
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Loading a route table for a command: from a file or standard input
 * ("-"), its errors printed in line order, an unreadable file told apart
 * from an invalid table.
 */


#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strangler_cli.h"


#define STRANGLER_CLI_STDIN     "<stdin>"
#define STRANGLER_CLI_READ_MAX  (64 * 1024 * 1024)


static void strangler_cli_error_position(const char *file, const char *text,
    unsigned long *line, unsigned long *col);


strangler_table_t *
strangler_cli_table_load(const char *file, int *rc)
{
    char                *buf;
    size_t               len;
    const char          *name;
    strangler_table_t   *table;
    strangler_errors_t   errs;

    memset(&errs, 0, sizeof(strangler_errors_t));

    if (strcmp(file, "-") == 0) {
        buf = strangler_cli_read(file, &len);
        if (buf == NULL) {
            *rc = STRANGLER_EXIT_TROUBLE;
            return NULL;
        }

        name = STRANGLER_CLI_STDIN;
        table = strangler_table_load_buffer(name, buf, len, &errs);
        free(buf);

    } else {
        if (access(file, R_OK) != 0) {
            fprintf(stderr, "%s: cannot open: %s\n", file, strerror(errno));
            *rc = STRANGLER_EXIT_TROUBLE;
            return NULL;
        }

        name = file;
        table = strangler_table_load_file(file, &errs);
    }

    if (table == NULL) {
        strangler_cli_errors_print(name, &errs);
        *rc = STRANGLER_EXIT_FAIL;
        return NULL;
    }

    *rc = STRANGLER_EXIT_OK;

    return table;
}


/*
 * The loader reports what it finds in the order it reads the keys (a
 * route's name first, its paths last); a reader wants them in the order
 * of the file.  Errors without a position (the file itself) come first.
 */

void
strangler_cli_errors_print(const char *file, strangler_errors_t *errs)
{
    char            tmp[STRANGLER_ERROR_LEN];
    size_t          i, j, n;
    unsigned long   li, ci, lj, cj;

    if (errs->count == 0) {
        fprintf(stderr, "%s: invalid route table\n", file);
        return;
    }

    n = errs->count < STRANGLER_MAX_ERRORS ? errs->count
                                           : STRANGLER_MAX_ERRORS;

    /* insertion sort, stable: at most STRANGLER_MAX_ERRORS lines */

    for (i = 1; i < n; i++) {
        strangler_cli_error_position(file, errs->text[i], &li, &ci);

        for (j = i; j > 0; j--) {
            strangler_cli_error_position(file, errs->text[j - 1], &lj, &cj);

            if (lj < li || (lj == li && cj <= ci)) {
                break;
            }

            memcpy(tmp, errs->text[j], STRANGLER_ERROR_LEN);
            memcpy(errs->text[j], errs->text[j - 1], STRANGLER_ERROR_LEN);
            memcpy(errs->text[j - 1], tmp, STRANGLER_ERROR_LEN);
        }
    }

    for (i = 0; i < n; i++) {
        fprintf(stderr, "%s\n", errs->text[i]);
    }

    if (errs->count > STRANGLER_MAX_ERRORS) {
        fprintf(stderr, "%s: %zu more errors not shown\n", file,
                errs->count - STRANGLER_MAX_ERRORS);
    }
}


/* "file:line:col: ..." as strangler_error() writes it; 0 without one */

static void
strangler_cli_error_position(const char *file, const char *text,
    unsigned long *line, unsigned long *col)
{
    char    *end;
    size_t   len;

    *line = 0;
    *col = 0;

    len = strlen(file);

    if (strncmp(text, file, len) != 0 || text[len] != ':'
        || text[len + 1] < '0' || text[len + 1] > '9')
    {
        return;
    }

    *line = strtoul(text + len + 1, &end, 10);

    if (*end == ':') {
        *col = strtoul(end + 1, NULL, 10);
    }
}


char *
strangler_cli_read(const char *file, size_t *len)
{
    FILE    *f;
    char    *buf, *p;
    size_t   n, size;

    if (strcmp(file, "-") == 0) {
        f = stdin;
        file = STRANGLER_CLI_STDIN;

    } else {
        f = fopen(file, "r");
        if (f == NULL) {
            fprintf(stderr, "%s: cannot open: %s\n", file, strerror(errno));
            return NULL;
        }
    }

    size = 4096;
    *len = 0;
    buf = malloc(size);

    while (buf != NULL) {
        n = fread(buf + *len, 1, size - *len - 1, f);
        *len += n;

        if (n == 0) {
            break;
        }

        if (*len + 1 == size) {
            if (size >= STRANGLER_CLI_READ_MAX) {
                fprintf(stderr, "%s: too large: more than %d bytes\n", file,
                        STRANGLER_CLI_READ_MAX);
                free(buf);
                buf = NULL;
                goto done;
            }

            p = realloc(buf, size * 2);
            if (p == NULL) {
                free(buf);
                buf = NULL;
                break;
            }

            buf = p;
            size *= 2;
        }
    }

    if (buf == NULL) {
        fprintf(stderr, "%s: out of memory\n", file);
        goto done;
    }

    if (ferror(f)) {
        fprintf(stderr, "%s: cannot read: %s\n", file, strerror(errno));
        free(buf);
        buf = NULL;
        goto done;
    }

    buf[*len] = '\0';

done:

    if (f != stdin) {
        fclose(f);
    }

    return buf;
}
