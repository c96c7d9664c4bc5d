
/*
 * Copyright (C) ngx_strangler_module authors
 *
 * Capture records (core/strangler_record.c): the secrets hidden (default
 * headers, a table's headers, query arguments, JSON body paths of every
 * form the loader accepts), base64 both ways, and lines that are JSON
 * whatever bytes the request held.
 */


#include <stdlib.h>

#include "strangler_record.h"
#include "unit.h"


#define S(lit)  { lit, sizeof(lit) - 1 }


static strangler_str_t  redact[] = {
    S("header:X-Api-Key"), S("arg:token"), S("$.password"),
    S("$.card.number"), S("$.items[*].secret"), S("$['a key']"),
    S("$.list[1]")
};

static strangler_capture_t  capture = {
    1, 1000000, { redact, sizeof(redact) / sizeof(redact[0]) }
};


static void
test_headers(void)
{
    UNIT_CHECK(strangler_record_is_secret_header(NULL, "Authorization", 13),
               "Authorization");
    UNIT_CHECK(strangler_record_is_secret_header(NULL, "cookie", 6),
               "cookie, any case");
    UNIT_CHECK(strangler_record_is_secret_header(NULL, "Set-Cookie", 10),
               "Set-Cookie");
    UNIT_CHECK(strangler_record_is_secret_header(NULL,
                                                 "Proxy-Authorization", 19),
               "Proxy-Authorization");
    UNIT_CHECK(!strangler_record_is_secret_header(NULL, "X-Api-Key", 9),
               "not without the table");
    UNIT_CHECK(strangler_record_is_secret_header(&capture, "x-api-key", 9),
               "the table's");
    UNIT_CHECK(!strangler_record_is_secret_header(&capture, "X-Api", 5),
               "not a prefix");
}


static void
test_uri(void)
{
    char    buf[256], *out;
    size_t  n;

    static const struct {
        const char  *in;
        const char  *want;
    } cases[] = {
        { "/a", "/a" },
        { "/a?token=x", "/a?token=[redacted]" },
        { "/a?TOKEN=x&b=1", "/a?TOKEN=[redacted]&b=1" },
        { "/a?b=1&token=&c", "/a?b=1&token=[redacted]&c" },
        { "/a?tokens=x&token", "/a?tokens=x&token" },
        { "/a?x=token=1", "/a?x=token=1" },
    };

    size_t  i;

    out = buf;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = strangler_record_redact_uri(&capture, cases[i].in,
                                        strlen(cases[i].in), out,
                                        sizeof(buf) - 1);
        out[n] = '\0';
        UNIT_STR_EQ(out, cases[i].want);
    }
}


static void
test_body(void)
{
    char    *out;
    size_t   i, len;

    static const struct {
        const char  *in;
        const char  *want;          /* NULL: left as it is */
    } cases[] = {
        { "{\"password\":\"p\",\"a\":1}",
          "{\"password\":\"[redacted]\",\"a\":1}" },
        { "{\"card\":{\"number\":4111,\"exp\":\"1/30\"}}",
          "{\"card\":{\"number\":\"[redacted]\",\"exp\":\"1/30\"}}" },
        { "{\"items\":[{\"secret\":1},{\"secret\":{\"x\":2}},{}]}",
          "{\"items\":[{\"secret\":\"[redacted]\"},"
          "{\"secret\":\"[redacted]\"},{}]}" },
        { "{\"a key\":true}", "{\"a key\":\"[redacted]\"}" },
        { "{\"list\":[1,2,3]}", "{\"list\":[1,\"[redacted]\",3]}" },
        { "{\"other\":1}", NULL },
        { "not json, password", NULL },
        { "[\"password\"]", NULL },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        out = strangler_record_redact_body(&capture, cases[i].in,
                                           strlen(cases[i].in), &len);

        if (cases[i].want == NULL) {
            UNIT_CHECK(out == NULL, "left alone: %s", cases[i].in);

        } else {
            UNIT_STR_EQ(out, cases[i].want);
            UNIT_CHECK(out && len == strlen(out), "its length");
        }

        free(out);
    }
}


static void
test_base64(void)
{
    char           enc[64];
    long           n;
    size_t         len, i;
    unsigned char  dec[64];

    static const char  *cases[][2] = {
        { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
        { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
        { "foobar", "Zm9vYmFy" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        len = strangler_base64_encode((const unsigned char *) cases[i][0],
                                      strlen(cases[i][0]), enc);
        enc[len] = '\0';
        UNIT_CHECK(strcmp(enc, cases[i][1]) == 0, "got %s", enc);

        n = strangler_base64_decode(enc, len, dec);
        UNIT_CHECK(n == (long) strlen(cases[i][0])
                   && memcmp(dec, cases[i][0], n) == 0, "back: %s", enc);
    }

    UNIT_CHECK(strangler_base64_decode("Zm9v!", 5, dec) == -1, "bad input");
}


static void
test_format(void)
{
    char                *line;
    size_t               len;
    json_t              *j, *h;
    json_error_t         err;
    strangler_body_t     answer;
    strangler_record_t   rec;
    strangler_str_t      names[] = { S("Content-Type"), S("Set-Cookie") };
    strangler_strs_t     list = { names, 2 };
    strangler_str_t      values[] = { S("application/json"), S("sid=1") };
    strangler_header_t   headers[] = {
        { S("Host"), S("example") },
        { S("Authorization"), S("Bearer s") },
        { S("X-Bin"), { "a\xff\"\n\x01z", 6 } },
    };

    memset(&rec, 0, sizeof(strangler_record_t));

    rec.time.data = "2026-01-01T00:00:00+00:00";
    rec.time.len = strlen(rec.time.data);
    rec.route.data = "users";
    rec.route.len = 5;
    rec.method.data = "POST";
    rec.method.len = 4;
    rec.uri.data = "/u?token=abc";
    rec.uri.len = 12;
    rec.headers = headers;
    rec.nheaders = 3;
    rec.body.data = "{\"password\":\"x\"}";
    rec.body.len = strlen(rec.body.data);
    rec.status = 201;
    rec.header_names = &list;
    rec.header_values = values;

    strangler_body_init(&answer, 1024, 0);
    strangler_body_add(&answer, "{\"id\":1}", 8);
    strangler_body_end(&answer);
    rec.answer = &answer;

    line = strangler_record_format(&capture, &rec, &len);
    UNIT_CHECK(line && len && line[len - 1] == '\n', "one line");

    j = line ? json_loadb(line, len, 0, &err) : NULL;
    UNIT_CHECK(j != NULL, "JSON: %s", line ? err.text : "none");

    UNIT_STR_EQ(json_string_value(json_object_get(j, "uri")),
                "/u?token=[redacted]");
    h = json_array_get(json_object_get(j, "headers"), 1);
    UNIT_STR_EQ(json_string_value(json_array_get(h, 1)), "[redacted]");
    h = json_array_get(json_object_get(j, "headers"), 2);
    UNIT_STR_EQ(json_string_value(json_array_get(h, 1)), "a?\"\n\x01z");
    /* {"password":"[redacted]"} */
    UNIT_STR_EQ(json_string_value(json_object_get(j, "body")),
                "eyJwYXNzd29yZCI6IltyZWRhY3RlZF0ifQ==");
    h = json_object_get(j, "answer");
    UNIT_CHECK(json_integer_value(json_object_get(h, "status")) == 201,
               "status");
    UNIT_STR_EQ(json_string_value(json_object_get(json_object_get(h,
                "headers"), "Set-Cookie")), "[redacted]");
    UNIT_STR_EQ(json_string_value(json_object_get(h, "body")),
                "eyJpZCI6MX0=");

    json_decref(j);
    free(line);
    strangler_body_free(&answer);

    /* a hashed answer */

    strangler_body_init(&answer, 4, 0);
    strangler_body_add(&answer, "0123456789", 10);
    strangler_body_end(&answer);
    rec.answer = &answer;
    rec.body_omitted = 1;

    line = strangler_record_format(NULL, &rec, &len);
    j = line ? json_loadb(line, len, 0, &err) : NULL;
    h = json_object_get(j, "answer");
    UNIT_CHECK(json_integer_value(json_object_get(h, "body_length")) == 10,
               "body_length");
    UNIT_STR_EQ(json_string_value(json_object_get(h, "body_sha256")),
                "84d89877f0d4041efb6bf91a16f0248f"
                "2fd573e6af05c19f96bedb9f882f7882");
    UNIT_CHECK(json_is_true(json_object_get(j, "body_omitted")),
               "body_omitted");
    UNIT_STR_EQ(json_string_value(json_object_get(j, "uri")),
                "/u?token=abc");

    json_decref(j);
    free(line);
    strangler_body_free(&answer);
}


int
main(void)
{
    test_headers();
    test_uri();
    test_body();
    test_base64();
    test_format();

    return unit_report("test_record");
}
