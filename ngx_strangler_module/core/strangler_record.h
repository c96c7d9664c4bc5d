
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Captured traffic (`strangler_capture`, `strangler replay`): one JSON
 * object per line holding a request as it reached the owner and the
 * owner's answer, with secrets redacted.  Plain C (jansson), no nginx
 * types: nginx writes these lines and the command reads them with the
 * same code.
 */


#ifndef STRANGLER_RECORD_H_INCLUDED_
#define STRANGLER_RECORD_H_INCLUDED_


#include <jansson.h>

#include "strangler_compare.h"


#define STRANGLER_RECORD_REDACTED  "[redacted]"


/* what one record says; the strings need not be NUL-terminated */
typedef struct {
    strangler_str_t           time;       /* ISO 8601 */
    strangler_str_t           route;
    strangler_str_t           method;
    strangler_str_t           uri;        /* path and query, as received */
    strangler_str_t           request_id;
    const strangler_header_t *headers;    /* the request's, in order */
    size_t                    nheaders;
    strangler_str_t           body;       /* data NULL: none */
    unsigned                  body_omitted:1; /* over the size kept */

    /* the owner's answer */
    int                       status;
    const strangler_strs_t   *header_names;   /* shadow.headers */
    const strangler_str_t    *header_values;  /* data NULL: absent */
    const strangler_body_t   *answer;     /* NULL: not captured */
} strangler_record_t;


/*
 * Whether a header is hidden in records: Authorization, Cookie,
 * Set-Cookie, Proxy-Authorization, and the route's "header:Name" ones.
 */
int strangler_record_is_secret_header(const strangler_capture_t *capture,
    const char *name, size_t len);

/*
 * The line for a record, redacted as the route's capture says, ending in
 * a newline; malloc()ed (*len set), or NULL when out of memory.
 */
char *strangler_record_format(const strangler_capture_t *capture,
    const strangler_record_t *rec, size_t *len);

/*
 * A URI with the values of the route's "arg:name" arguments redacted:
 * into out (size at least len + 16 per argument); returns the length.
 */
size_t strangler_record_redact_uri(const strangler_capture_t *capture,
    const char *uri, size_t len, char *out, size_t size);

/*
 * The route's JSON paths redacted in a JSON body: a malloc()ed text and
 * *out_len, or NULL when the body is not JSON or holds none of them.
 */
char *strangler_record_redact_body(const strangler_capture_t *capture,
    const char *body, size_t len, size_t *out_len);

/* base64 (RFC 4648, padded); both return the length written, -1: bad */
size_t strangler_base64_encode(const unsigned char *src, size_t len,
    char *dst);
long strangler_base64_decode(const char *src, size_t len,
    unsigned char *dst);

#define strangler_base64_encoded_len(len)  (((len) + 2) / 3 * 4)


#endif /* STRANGLER_RECORD_H_INCLUDED_ */
