"""Screenshots of the dashboard in the demo's state, for docs/dashboard.md.

    make screenshots        (docs/dashboard.png, docs/dashboard-rollback.png)

nginx with routes/demo.yaml (tests/dashboard/front.py), 40 seconds of
traffic in which the users route's reads move to the messages service,
then headless Chromium.
"""

import os
import sys
import threading
import time

from cdp import Browser
from front import Front, TOP


def traffic(front, seconds, stop):
    end = time.time() + seconds
    i = 0
    while time.time() < end and not stop.is_set():
        front.request("GET", "/api/conversations/%d" % i)
        front.request("GET", "/api/users/%d" % i)
        front.request("GET", "/api/users/%d/inbox" % i)
        if i % 3 == 0:
            front.request("POST", "/api/conversations", {"n": i})
        if i % 40 == 0:
            front.request("GET", "/api/conversations/500")
        front.request("GET", "/healthz/messages")
        i += 1
        time.sleep(0.02)


def main(out):
    os.makedirs(out, exist_ok=True)
    front = Front(prefix=os.path.join(TOP, "build", "screenshots"))
    front.start()
    b = None
    stop = threading.Event()
    try:
        print("screenshots: 40 s of demo traffic")
        traffic(front, 20, stop)
        front.request("PUT", "/_strangler/routes/users",
                      {"reads": "messages"})
        t = threading.Thread(target=traffic, args=(front, 60, stop))
        t.start()
        time.sleep(20)

        b = Browser(1280, 1100)
        b.open(front.url("/_strangler/"))
        b.wait("document.body.dataset.refreshed >= 3", 20)
        b.screenshot(os.path.join(out, "dashboard.png"))

        b.eval("document.querySelector('button[data-action=\"rollback\"]"
               "[data-route=\"conversations\"]').click()")
        b.wait("document.getElementById('confirm').open", 5)
        b.eval("document.getElementById('confirm-ok').click()")
        b.wait("!document.getElementById('confirm-answer').hidden", 10)
        b.screenshot(os.path.join(out, "dashboard-rollback.png"), False)
        stop.set()
        t.join()
        print("screenshots: %s/dashboard.png, dashboard-rollback.png" % out)
    finally:
        stop.set()
        if b:
            b.close()
        front.stop()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, "docs"))
