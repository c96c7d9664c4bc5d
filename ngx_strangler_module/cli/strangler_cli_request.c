
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * A request as a command gives it (explain's options, a test case), and
 * what the table does with it: read through the core's text accessor, so
 * that the path, the force header, the sticky key and the method override
 * are found as nginx finds them, then the core's match and decision, and
 * the shadow the request would get when sampled.
 */


#include <stdlib.h>
#include <string.h>

#include "strangler_cli.h"


/* the name the force header is given under: no header can have it */
#define STRANGLER_CLI_FORCE  ":force"


static char *strangler_cli_cookie_line(const strangler_cli_request_t *cr);


/* every shadow sampled: the target the request would get when sampled */

static const strangler_override_t  strangler_cli_sample_all = {
    STRANGLER_NONE, STRANGLER_NONE, STRANGLER_SAMPLE_SCALE
};


const char *
strangler_cli_request_check(const strangler_cli_request_t *cr)
{
    if (cr->uri[0] != '/') {
        return "the path must start with \"/\"";
    }

    if (!strangler_method_is_valid(cr->method, strlen(cr->method))) {
        return "nginx refuses a request line whose method is not "
               "upper-case letters, \"_\" or \"-\" (400): write it as a "
               "client sends it, such as GET";
    }

    return NULL;
}


int
strangler_cli_decide(const strangler_table_t *table,
    const strangler_cli_request_t *cr, strangler_cli_result_t *res,
    const char **err)
{
    size_t                     n, len;
    strangler_header_t        *h;
    strangler_request_t       *req;
    strangler_accessor_t       acc;
    strangler_text_request_t   text;

    memset(res, 0, sizeof(strangler_cli_result_t));
    memset(&text, 0, sizeof(strangler_text_request_t));

    len = strlen(cr->uri);

    res->path = malloc(len + 1);
    res->headers = calloc(cr->nheaders + 2, sizeof(strangler_header_t));

    if (res->path == NULL || res->headers == NULL) {
        *err = "out of memory";
        goto failed;
    }

    /* the path as nginx routes it, the query string aside */

    if (strangler_target_parse(cr->uri, len, res->path, &res->len,
                               &text.args, err)
        != 0)
    {
        goto failed;
    }

    res->path[res->len] = '\0';

    /* the headers as given, then the cookies and the force header */

    n = cr->nheaders;
    memcpy(res->headers, cr->headers, n * sizeof(strangler_header_t));

    if (cr->ncookies) {
        res->cookie = strangler_cli_cookie_line(cr);
        if (res->cookie == NULL) {
            *err = "out of memory";
            goto failed;
        }

        h = &res->headers[n++];
        h->name.data = "Cookie";
        h->name.len = sizeof("Cookie") - 1;
        h->value.data = res->cookie;
        h->value.len = strlen(res->cookie);
    }

    if (cr->force) {
        h = &res->headers[n++];
        h->name.data = STRANGLER_CLI_FORCE;
        h->name.len = sizeof(STRANGLER_CLI_FORCE) - 1;
        h->value.data = cr->force;
        h->value.len = strlen(cr->force);
    }

    text.headers = res->headers;
    text.nheaders = n;

    if (cr->address) {
        text.addr.data = cr->address;
        text.addr.len = strlen(cr->address);
    }

    strangler_text_accessor(&text, &acc);

    req = &res->req;
    req->method = strangler_method_parse(cr->method, strlen(cr->method));
    req->path.data = res->path;
    req->path.len = res->len;
    req->force_header.data = STRANGLER_CLI_FORCE;
    req->force_header.len = sizeof(STRANGLER_CLI_FORCE) - 1;
    req->random = cr->random;

    strangler_table_match(table, req->method, res->path, res->len,
                          &res->match);
    strangler_request_read(table, &acc, &res->match, req);

    if (cr->sticky_key.data != NULL) {
        req->sticky_key = cr->sticky_key;   /* given: it wins */
    }

    strangler_decide(table, &res->match, req, &res->decision);

    req->override = &strangler_cli_sample_all;
    strangler_decide(table, &res->match, req, &res->shadow);
    req->override = NULL;

    return 0;

failed:

    strangler_cli_result_free(res);

    return -1;
}


/* the same request with another method and force value: writes' checks */

void
strangler_cli_redecide(const strangler_table_t *table,
    const strangler_cli_result_t *res, strangler_method_t method,
    const char *force, strangler_cli_result_t *out)
{
    *out = *res;

    /* res owns them */
    out->path = NULL;
    out->headers = NULL;
    out->cookie = NULL;

    out->req.method = method;
    out->req.method_override = NULL;
    out->req.force.data = force;
    out->req.force.len = force ? strlen(force) : 0;

    strangler_table_match(table, method, res->path, res->len, &out->match);
    strangler_decide(table, &out->match, &out->req, &out->decision);

    out->req.override = &strangler_cli_sample_all;
    strangler_decide(table, &out->match, &out->req, &out->shadow);
    out->req.override = NULL;
}


void
strangler_cli_result_free(strangler_cli_result_t *res)
{
    free(res->path);
    free(res->headers);
    free(res->cookie);

    res->path = NULL;
    res->headers = NULL;
    res->cookie = NULL;
}


/* "a=1; b=2", as a browser sends its cookies */

static char *
strangler_cli_cookie_line(const strangler_cli_request_t *cr)
{
    char                      *line, *p;
    size_t                     i, len;
    const strangler_header_t  *c;

    for (i = 0, len = 1; i < cr->ncookies; i++) {
        len += cr->cookies[i].name.len + cr->cookies[i].value.len + 3;
    }

    line = malloc(len);
    if (line == NULL) {
        return NULL;
    }

    p = line;

    for (i = 0; i < cr->ncookies; i++) {
        c = &cr->cookies[i];

        if (i) {
            *p++ = ';';
            *p++ = ' ';
        }

        memcpy(p, c->name.data, c->name.len);
        p += c->name.len;
        *p++ = '=';
        memcpy(p, c->value.data, c->value.len);
        p += c->value.len;
    }

    *p = '\0';

    return line;
}
