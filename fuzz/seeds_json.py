#!/usr/bin/env python3
# Writes the differential JSON fuzzer's seed corpus (fuzz/corpus/json):
# real-looking API answers and a changed copy of each, with settings
# bytes (ignore paths, unordered arrays, re-serialisation, piece sizes).
# Each seed is: 2 settings bytes, the first body, 0xff, the second body.
#
#   fuzz/seeds_json.py fuzz/corpus/json
import json
import os
import sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

user = {"id": 12345678901234567890, "name": "Zo\u00eb \u00c9lise",
        "email": "zoe@example.com", "tags": ["a", "b", "c"],
        "meta": {"request_id": "9f1c", "ts": "2026-12-06T15:00:00Z"}}
items = {"items": [{"id": i, "sku": "s%d" % i, "price": 19.99 + i,
                    "tags": ["x%d" % (i % 3), "y"]} for i in range(20)],
         "total": 20, "a key": 1, "meta": {"request_id": "r1"}}
deep = {"a": 1}
for _ in range(40):
    deep = {"a": [deep], "b": 1}

docs = {
    "user": (json.dumps(user, ensure_ascii=False),
             json.dumps(dict(user, name="Zo\u00eb Elise"))),
    "user_ascii": (json.dumps(user, ensure_ascii=True),
                   json.dumps(user, ensure_ascii=False, indent=2)),
    "items": (json.dumps(items),
              json.dumps(dict(items, items=items["items"][::-1]))),
    "items_sorted": (json.dumps(items),
                     json.dumps(items, sort_keys=True, indent=1)),
    "big_numbers": ('{"n":1e400,"m":-1E+400,"i":123456789012345678901234,'
                    '"f":0.1000000000000000000001,"z":-0.0}',
                    '{"m":-10e399,"n":1e400,"i":1.23456789012345678901234e23,'
                    '"f":0.1,"z":0}'),
    "escaped_keys": ('{"a\\"b":1,"\\u00e9t\\u00e9":"\\ud83d\\ude00",'
                     '"a.b":[1,2],"\\\\":null}',
                     '{"\u00e9t\u00e9":"\U0001F600","a\\u0022b":1,'
                     '"\\\\":null,"a.b":[1,3]}'),
    "deep": (json.dumps(deep), json.dumps(deep).replace('"b": 1}', '"b": 2}', 1)),
    "duplicates": ('{"a":1,"a":2,"b":[{"k":1,"k":1}]}',
                   '{"b":[{"k":1}],"a":2}'),
    "dup_order": ('{"a":1,"b":2,"a":3}', '{"a":1,"a":3,"b":2}'),
    "invalid": ('{"a":[1,2,]}', '{"a":[1,2]}'),
    "not_json": ('<html>502 Bad Gateway</html>', '{"error":"x"}'),
    "types": ('[1,"1",true,null,{},[]]', '[1.0,1,false,null,[],{}]'),
    "unicode": ('["\\u00e9","\u00e9","\\u0000","\\t\\n\\/"]',
                '["\u00e9","\\u00E9","\\u0000","\t\\n/"]'),
    "top_scalar": ('  "x" ', '"x"\n'),
    "empty": ('', '{}'),
    "nested_arrays": ('{"a":[{"b":[3,2,1]},{"b":[1]}]}',
                      '{"a":[{"b":[1,2,3]},{"b":[2]}]}'),
}

for name, (a, b) in docs.items():
    for i, cfg in enumerate([(0x00, 0x00), (0xff, 0x8f), (0x00, 0x4f),
                             (0x06, 0x90)]):
        with open(os.path.join(out, "%s-%d" % (name, i)), "wb") as f:
            f.write(bytes(cfg) + a.encode() + b"\xff" + b.encode())

# jansson's depth limit, 2048, on either side of it
for depth in (2047, 2048, 2049):
    a = "[" * depth + "]" * depth
    with open(os.path.join(out, "depth-%d" % depth), "wb") as f:
        f.write(bytes((0, 0)) + a.encode() + b"\xff" + a.encode() + b" ")
    a = "[" * depth + "1" + "]" * depth
    with open(os.path.join(out, "depth1-%d" % depth), "wb") as f:
        f.write(bytes((0, 0)) + a.encode() + b"\xff" + a.encode() + b" ")
