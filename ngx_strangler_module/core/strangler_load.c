
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Loading the route table (YAML, version 1): the file, the top level and
 * the backends, and the helpers the rest of the loader shares.  Routes are
 * read in strangler_load_route.c, their shadow block in
 * strangler_load_shadow.c.
 *
 * Loading keeps going after a semantic error, so that one run of
 * `strangler check` or `nginx -t` shows every mistake it can; it stops at
 * a YAML syntax error, after which nothing more can be trusted.
 */


#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strangler_load.h"


#define STRANGLER_MAX_FILE  (64 * 1024 * 1024)


static char *strangler_load_read(const char *path, size_t *len,
    strangler_errors_t *errs);
static strangler_table_t *strangler_load(const char *name, const char *buf,
    size_t len, strangler_errors_t *errs);
static void strangler_load_table(strangler_loader_t *ld, yaml_node_t *root);
static void strangler_load_version(void *ctx, void *obj, yaml_node_t *value);
static void strangler_load_backends(void *ctx, void *obj, yaml_node_t *value);
static void strangler_load_backend(strangler_loader_t *ld, yaml_node_t *key,
    yaml_node_t *value);
static void strangler_load_location(void *ctx, void *obj, yaml_node_t *value);
static void strangler_load_default(void *ctx, void *obj, yaml_node_t *value);


/* the handlers run in table order: each may rely on the ones before it */

static const strangler_yaml_field_t  strangler_top_fields[] = {
    { "version",  strangler_load_version,  1 },
    { "backends", strangler_load_backends, 1 },
    { "default",  strangler_load_default,  1 },
    /* before the routes: they start from the table's */
    { "readiness", strangler_load_readiness_table, 0 },
    { "routes",   strangler_load_routes,   0 },
    { "method_override", strangler_load_method_override, 0 },
};


static const strangler_yaml_field_t  strangler_backend_fields[] = {
    { "location", strangler_load_location, 0 },
};


strangler_table_t *
strangler_table_load_file(const char *path, strangler_errors_t *errs)
{
    char                *buf;
    size_t               len;
    strangler_table_t   *table;
    strangler_errors_t   dummy;

    if (errs == NULL) {
        errs = &dummy;
    }

    errs->count = 0;

    buf = strangler_load_read(path, &len, errs);
    if (buf == NULL) {
        return NULL;
    }

    table = strangler_load(path, buf, len, errs);

    free(buf);

    return table;
}


strangler_table_t *
strangler_table_load_buffer(const char *name, const char *buf, size_t len,
    strangler_errors_t *errs)
{
    strangler_errors_t  dummy;

    if (errs == NULL) {
        errs = &dummy;
    }

    errs->count = 0;

    if (len > STRANGLER_MAX_FILE) {
        strangler_error(errs, name, 0, 0, "too large: %zu bytes, at most %d",
                        len, STRANGLER_MAX_FILE);
        return NULL;
    }

    return strangler_load(name, buf, len, errs);
}


void
strangler_table_free(strangler_table_t *table)
{
    if (table == NULL) {
        return;
    }

    if (table->index) {
        strangler_index_free(table->index);
    }

    strangler_arena_destroy(table->arena);
}


int
strangler_backend_find(const strangler_table_t *table, const char *name,
    size_t len)
{
    size_t                      i;
    const strangler_backend_t  *b;

    for (i = 0; i < table->nbackends; i++) {
        b = &table->backends[i];

        if (b->name.len == len && memcmp(b->name.data, name, len) == 0) {
            return (int) i;
        }
    }

    return STRANGLER_NONE;
}


const strangler_route_t *
strangler_route_find(const strangler_table_t *table, const char *name,
    size_t len)
{
    size_t                    i;
    const strangler_route_t  *r;

    /* for the API and the CLI, not per request: a scan will do */

    for (i = 0; i < table->nroutes; i++) {
        r = &table->routes[i];

        if (r->name.len == len && memcmp(r->name.data, name, len) == 0) {
            return r;
        }
    }

    return NULL;
}


static char *
strangler_load_read(const char *path, size_t *len, strangler_errors_t *errs)
{
    int           fd;
    char         *buf;
    size_t        size;
    ssize_t       n;
    struct stat   st;

    /*
     * O_NONBLOCK: opening a FIFO for reading would wait for a writer, and
     * hang `nginx -t` or the master on reload; it is refused below
     */

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd == -1) {
        strangler_error(errs, path, 0, 0, "cannot open: %s", strerror(errno));
        return NULL;
    }

    buf = NULL;

    if (fstat(fd, &st) == -1) {
        strangler_error(errs, path, 0, 0, "cannot stat: %s", strerror(errno));
        goto done;
    }

    if (!S_ISREG(st.st_mode)) {
        strangler_error(errs, path, 0, 0, "cannot open: not a regular file");
        goto done;
    }

    if (st.st_size > STRANGLER_MAX_FILE) {
        strangler_error(errs, path, 0, 0, "too large: %lld bytes, at most %d",
                        (long long) st.st_size, STRANGLER_MAX_FILE);
        goto done;
    }

    buf = malloc((size_t) st.st_size + 1);
    if (buf == NULL) {
        strangler_error(errs, path, 0, 0, "out of memory");
        goto done;
    }

    /* a file that shrinks while being read is read up to its new end */

    for (size = 0; size < (size_t) st.st_size; size += n) {
        n = read(fd, buf + size, (size_t) st.st_size - size);

        if (n == -1 && errno == EINTR) {
            n = 0;
            continue;
        }

        if (n == -1) {
            strangler_error(errs, path, 0, 0, "cannot read: %s",
                            strerror(errno));
            free(buf);
            buf = NULL;
            goto done;
        }

        if (n == 0) {
            break;
        }
    }

    *len = size;

done:

    close(fd);

    return buf;
}


static strangler_table_t *
strangler_load(const char *name, const char *buf, size_t len,
    strangler_errors_t *errs)
{
    yaml_node_t         *root;
    strangler_arena_t   *arena;
    strangler_table_t   *table;
    strangler_loader_t   ld;

    arena = strangler_arena_create();
    table = arena ? strangler_alloc(arena, sizeof(strangler_table_t)) : NULL;

    if (table == NULL) {
        strangler_error(errs, name, 0, 0, "out of memory");
        strangler_arena_destroy(arena);
        return NULL;
    }

    table->arena = arena;
    table->default_backend = STRANGLER_NONE;
    table->file.len = strlen(name);
    table->file.data = strangler_strndup(arena, name, table->file.len);
    strangler_sha256_hex(buf, len, table->sha256);

    memset(&ld, 0, sizeof(strangler_loader_t));
    ld.y.file = name;
    ld.y.errs = errs;
    ld.table = table;
    ld.arena = arena;

    if (table->file.data == NULL) {
        strangler_error(errs, name, 0, 0, "out of memory");
        goto done;
    }

    root = strangler_yaml_load(&ld.y, buf, len);

    if (root) {
        strangler_load_table(&ld, root);
    }

    strangler_yaml_free(&ld.y);

done:

    if (errs->count) {
        strangler_table_free(table);
        return NULL;
    }

    return table;
}


static void
strangler_load_table(strangler_loader_t *ld, yaml_node_t *root)
{
    char                err[STRANGLER_ERROR_LEN];
    strangler_table_t  *table;

    table = ld->table;

    if (root->type != YAML_MAPPING_NODE) {
        strangler_yaml_error(&ld->y, root, "the route table must be a mapping "
                             "with \"version: 1\", \"default\", "
                             "\"backends\" and \"routes\"");
        return;
    }

    table->index = strangler_index_create(ld->arena);
    if (table->index == NULL) {
        strangler_error(ld->y.errs, ld->y.file, 0, 0, "out of memory");
        return;
    }

    strangler_yaml_fields(&ld->y, root, strangler_top_fields,
                          strangler_nelts(strangler_top_fields),
                          "at top level", ld, table);

    /* an invalid table is thrown away: no need to compile its regexes */

    if (ld->y.errs->count == 0
        && strangler_index_finish(table->index, err, sizeof(err)) != 0)
    {
        strangler_error(ld->y.errs, ld->y.file, 0, 0, "paths: %s", err);
    }
}


void
strangler_load_error(strangler_loader_t *ld, const yaml_node_t *node,
    const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    strangler_yaml_verror(&ld->y, node, STRANGLER_YAML_NODE, ld->label, fmt,
                          args);
    va_end(args);
}


void
strangler_load_error_at(strangler_loader_t *ld, const yaml_node_t *node,
    size_t offset, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    strangler_yaml_verror(&ld->y, node, offset, ld->label, fmt, args);
    va_end(args);
}


void *
strangler_load_alloc(strangler_loader_t *ld, size_t size)
{
    void  *p;

    p = strangler_alloc(ld->arena, size);

    if (p == NULL) {
        strangler_error(ld->y.errs, ld->y.file, 0, 0, "out of memory");
    }

    return p;
}


int
strangler_load_copy(strangler_loader_t *ld, const strangler_str_t *src,
    strangler_str_t *dst)
{
    char  *p;

    p = strangler_strndup(ld->arena, src->data, src->len);

    if (p == NULL) {
        strangler_error(ld->y.errs, ld->y.file, 0, 0, "out of memory");
        return 0;
    }

    dst->data = p;
    dst->len = src->len;

    return 1;
}


int
strangler_load_backend_ref(strangler_loader_t *ld, yaml_node_t *node,
    const char *what)
{
    int              b;
    strangler_str_t  name;

    if (!strangler_yaml_scalar(node, &name)) {
        strangler_load_error(ld, node, "\"%s\" must be a backend name", what);
        return STRANGLER_NONE;
    }

    b = strangler_backend_find(ld->table, name.data, name.len);

    /* without any backend, "backends" is reported already: say it once */

    if (b != STRANGLER_NONE || ld->table->nbackends == 0) {
        return b;
    }

    if (ld->label[0]) {
        strangler_load_error(ld, node, "unknown backend \"%.*s\"",
                             strangler_quote(name));

    } else {
        strangler_yaml_error(&ld->y, node, "\"%s\": unknown backend \"%.*s\"",
                             what, strangler_quote(name));
    }

    return STRANGLER_NONE;
}


/*
 * A route's block (`shadow`, `guard`): a mapping whose keys `fields` read
 * into obj.  0 when it is not a mapping: the error says what is expected.
 */

int
strangler_load_block(strangler_loader_t *ld, yaml_node_t *value,
    const char *key, const char *example,
    const strangler_yaml_field_t *fields, size_t n, void *obj)
{
    char  where[STRANGLER_LABEL_LEN + 32];

    if (value->type != YAML_MAPPING_NODE) {
        strangler_load_error(ld, value, "\"%s\" must be a mapping, such as "
                             "%s", key, example);
        return 0;
    }

    snprintf(where, sizeof(where), "in %s of %s", key, ld->label);

    strangler_yaml_fields(&ld->y, value, fields, n, where, ld, obj);

    return 1;
}


/* [a-z0-9_-]+: route and backend names appear in metrics and URLs */

int
strangler_load_is_name(const strangler_str_t *s)
{
    size_t  i;
    char    c;

    for (i = 0; i < s->len; i++) {
        c = s->data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
              || c == '_' || c == '-'))
        {
            return 0;
        }
    }

    return s->len > 0;
}


/* an HTTP token (RFC 9110): header, cookie and argument names */

int
strangler_load_is_token(const char *p, size_t len)
{
    size_t  i;
    char    c;

    for (i = 0; i < len; i++) {
        c = p[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c))))
        {
            return 0;
        }
    }

    return len > 0;
}


static void
strangler_load_version(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_str_t      v;
    strangler_table_t   *table;
    strangler_loader_t  *ld;

    ld = ctx;
    table = obj;

    if (!strangler_yaml_scalar(value, &v)) {
        strangler_yaml_error(&ld->y, value, "\"version\" must be 1");
        return;
    }

    if (v.len != 1 || v.data[0] != '1') {
        strangler_yaml_error(&ld->y, value,
                             "unsupported version \"%.*s\", expected 1",
                             strangler_quote(v));
        return;
    }

    /* a string is not the version, whatever it says: "1" may not be 1 */

    if (value->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
        strangler_yaml_error(&ld->y, value, "\"version\" must be the number "
                             "1, not a string");
        return;
    }

    table->version = 1;
}


static void
strangler_load_backends(void *ctx, void *obj, yaml_node_t *value)
{
    size_t               n;
    yaml_node_pair_t    *pair;
    strangler_table_t   *table;
    strangler_loader_t  *ld;

    ld = ctx;
    table = obj;

    if (value->type != YAML_MAPPING_NODE) {
        strangler_yaml_error(&ld->y, value, "\"backends\" must be a mapping "
                             "of backend names to {} or "
                             "{ location: \"@name\" }");
        return;
    }

    n = strangler_yaml_pairs(value);

    if (n == 0) {
        strangler_yaml_error(&ld->y, value,
                             "\"backends\" must name at least one backend");
        return;
    }

    n = n < STRANGLER_MAX_BACKENDS ? n : STRANGLER_MAX_BACKENDS;

    table->backends = strangler_load_alloc(ld, n * sizeof(strangler_backend_t));
    if (table->backends == NULL) {
        return;
    }

    for (pair = value->data.mapping.pairs.start;
         pair < value->data.mapping.pairs.top;
         pair++)
    {
        if (table->nbackends == STRANGLER_MAX_BACKENDS) {
            strangler_yaml_error(&ld->y, strangler_yaml_node(&ld->y, pair->key),
                                 "too many backends: at most %d",
                                 STRANGLER_MAX_BACKENDS);
            break;
        }

        strangler_load_backend(ld, strangler_yaml_node(&ld->y, pair->key),
                               strangler_yaml_node(&ld->y, pair->value));
    }
}


static void
strangler_load_backend(strangler_loader_t *ld, yaml_node_t *key,
    yaml_node_t *value)
{
    int                   i;
    char                  where[STRANGLER_LABEL_LEN];
    strangler_str_t       name;
    strangler_table_t    *table;
    strangler_backend_t  *b;

    table = ld->table;

    if (!strangler_yaml_scalar(key, &name)) {
        strangler_yaml_error(&ld->y, key,
                             "backend names must be strings of [a-z0-9_-]");
        return;
    }

    if (!strangler_load_is_name(&name)) {
        strangler_yaml_error(&ld->y, key,
                             "bad backend name \"%.*s\": expected [a-z0-9_-]+",
                             strangler_quote(name));
        /* keep it: every use of it would be reported as unknown otherwise */
    }

    i = strangler_backend_find(table, name.data, name.len);

    if (i != STRANGLER_NONE) {
        strangler_yaml_duplicate(&ld->y, key, table->backends[i].line,
                                 "in \"backends\"");
        return;
    }

    b = &table->backends[table->nbackends++];
    b->line = strangler_yaml_line(key);
    b->col = key->start_mark.column + 1;

    if (!strangler_load_copy(ld, &name, &b->name)) {
        return;
    }

    snprintf(where, sizeof(where), "in backend \"%.*s\"",
             strangler_quote(name));

    if (value->type == YAML_MAPPING_NODE) {
        strangler_yaml_fields(&ld->y, value, strangler_backend_fields,
                              strangler_nelts(strangler_backend_fields),
                              where, ld, b);

    } else if (!strangler_yaml_is_null(value)) {
        strangler_yaml_error(&ld->y, value, "backend \"%.*s\" must be a "
                             "mapping: {} or { location: \"@name\" }",
                             strangler_quote(name));
    }

    if (b->location.data == NULL) {
        b->location.len = name.len + 1;
        b->location.data = strangler_load_alloc(ld, name.len + 2);

        if (b->location.data) {
            snprintf((char *) b->location.data, name.len + 2, "@%.*s",
                     (int) name.len, name.data);
        }
    }
}


static void
strangler_load_location(void *ctx, void *obj, yaml_node_t *value)
{
    size_t                i;
    strangler_str_t       loc;
    strangler_backend_t  *b;
    strangler_loader_t   *ld;

    ld = ctx;
    b = obj;

    if (value == NULL) {
        return;
    }

    /* a named location: "@" and a name without spaces, as nginx reads it */

    if (strangler_yaml_scalar(value, &loc) && loc.len > 1
        && loc.data[0] == '@')
    {
        for (i = 1; i < loc.len; i++) {
            if ((unsigned char) loc.data[i] <= ' ' || loc.data[i] == 0x7f
                || loc.data[i] == ';' || loc.data[i] == '{'
                || loc.data[i] == '}')
            {
                break;
            }
        }

        if (i == loc.len) {
            strangler_load_copy(ld, &loc, &b->location);
            return;
        }
    }

    strangler_yaml_error(&ld->y, value, "backend \"%.*s\": \"location\" must "
                         "be a named location such as \"@%.*s\"",
                         strangler_quote(b->name), strangler_quote(b->name));
}


static void
strangler_load_default(void *ctx, void *obj, yaml_node_t *value)
{
    strangler_table_t  *table;

    table = obj;

    table->default_backend = strangler_load_backend_ref(ctx, value,
                                                        "default");
}
