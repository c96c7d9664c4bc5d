"""The dashboard's "Next to move" panel in a real headless Chromium.

Run by tests/097-plan-browser.t; prints TAP.  A table of three routes:
one whose new side agrees (ready to move its reads), one that differs
(not ready: the field is named), one owned (not listed).
"""

import os
import shutil
import sys
import tempfile

from browser_test import A11Y
from cdp import Browser
from front import Front, Tap

ROUTES = """version: 1
default: monolith
backends: { monolith: {}, messages: {} }
readiness: { min_compared: 3, quiet: 1h }
routes:
  - name: agrees
    paths: ["/api/agrees/*"]
    owner: monolith
    shadow: { to: messages, sample: 100, compare: status }
  - name: differs
    paths: ["/api/differs/*"]
    owner: monolith
    shadow: { to: messages, sample: 100, compare: json }
  - name: owned
    paths: ["/api/owned/*"]
    owner: messages
"""


def panel(b):
    return b.eval("""[...document.querySelectorAll('#plan-rows tr')]
        .map(tr => [tr.dataset.route, tr.children[2].innerText,
                    tr.children[3].innerText])""")


def main():
    t = Tap()

    if not shutil.which("chromium"):
        t.ok(False, "chromium is installed (mk/deps.sh test installs it)")
        return t.done()

    tmp = tempfile.mkdtemp(prefix="strangler-plan-")
    table = os.path.join(tmp, "routes.yaml")
    with open(table, "w") as f:
        f.write(ROUTES)

    front = Front(routes=table)
    front.start()
    b = None

    try:
        for route in ("agrees", "differs"):
            for i in range(4):
                front.request("GET", "/api/%s/%d" % (route, i))

        # the shadows end after the answers
        for _ in range(50):
            plan = front.json("/_strangler/plan")
            if all(r["evidence"]["compared"] >= 4 for r in plan["routes"]):
                break
            b and b.idle(0.1)

        b = Browser()
        b.open(front.url("/_strangler/"))
        t.ok(b.wait("document.querySelectorAll('#plan-rows tr').length"
                    " === 2", 15),
             "the panel lists the routes not yet moved", panel(b))
        rows = panel(b) or []
        t.ok([r[0] for r in rows] == ["agrees", "differs"],
             "ready first; the owned route is not listed", rows)
        t.ok(rows and rows[0][1] == "move the reads"
             and rows[0][2] == "ready",
             "a route that agrees: move the reads, ready", rows[:1])
        t.ok(len(rows) > 1
             and "$.served_by differs in 100.0% of copies" in rows[1][2]
             and "first differed" in rows[1][2],
             "a route that differs: the reasons in words and figures",
             rows[1:])
        summary = b.eval("document.getElementById('plan-summary')"
                         ".textContent")
        t.ok(summary.startswith("1 of 2 routes not yet moved is ready"),
             "the summary counts the ready ones", summary)
        codes = b.eval("[...document.querySelectorAll('#plan-rows li')]"
                       ".map(li => li.dataset.code)")
        t.ok(codes == ["differences", "not_quiet"],
             "each reason keeps its code", codes)

        a11y = b.eval(A11Y)
        t.ok(not a11y["bad"], "accessibility: the panel's headers and "
             "contrast", "\n".join(a11y["bad"]))
        t.ok(not b.errors, "no console errors, no CSP violations",
             "\n".join(b.errors))
    finally:
        if b:
            b.close()
        front.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    return t.done()


if __name__ == "__main__":
    sys.exit(main())
