#!/usr/bin/env python3
"""Writes the hostile route tables of issue 16 into one directory.

    alias.yaml    about 60 KB: a first route with 1,700 paths, anchored, that
                  1,700 more routes name through an alias ("paths: *p"), which
                  a loader following aliases reads as 2.9 million paths
    alias-regex.yaml  about 40 KB, the same with 1,000 regexes ("~ ^/p0$")
                  and 1,000 routes: no conflicts, but a million regexes
                  to compile
    nesting.yaml  a flow sequence nested 200,000 deep ("[[[...]]]")
    regex.yaml    a route whose regex backtracks: ~ ^/api/(.*a){10,14}$

Usage: bench/hostile.py DIR   (bench/hostile.sh measures what they cost)
"""

import os
import sys

HEAD = ("version: 1\ndefault: monolith\n"
        "backends: { monolith: {}, messages: {} }\n")


def alias(n=1700, regex=False):
    out = [HEAD, "routes:\n  - {name: r0, paths: &p ["]
    path = "'~ ^/p%d$'" if regex else "/p%d"
    out.append(", ".join(path % i for i in range(n)))
    out.append("]}\n")
    for i in range(1, n):
        out.append("  - {name: r%d, paths: *p}\n" % i)
    return "".join(out)


def nesting(depth=200000):
    return HEAD + "routes: " + "[" * depth + "]" * depth + "\n"


def regex():
    return (HEAD + "routes:\n  - name: backtrack\n"
            "    paths: ['~ ^/api/(.*a){10,14}$']\n    reads: messages\n"
            "  - name: other\n    paths: [/other]\n    reads: messages\n")


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    for name, text in (("alias", alias()),
                       ("alias-regex", alias(1000, regex=True)),
                       ("nesting", nesting()),
                       ("regex", regex())):
        with open(os.path.join(d, name + ".yaml"), "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
