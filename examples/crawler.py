"""Web crawler with an exactly-once effect per page.

Workers take URLs from a queue, fetch the page, report its links back to
the root task (which keeps the set of pages seen and hands out new ones),
and for every page make one external call: an HTTP POST of the page to a
service (the "processed" effect). The POST carries the call's idempotency
key, which stays the same however often a lambda dies and the call is run
again, so a service that de-duplicates by key applies each page once.

    bin/kappa run examples/crawler.py --event '{"start": "http://127.0.0.1:8000/", "service": "http://127.0.0.1:8001/processed"}'

Only pages on the start URL's host are followed.
"""

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

from kappa import call_external, create_queue, spawn, wait

STOP = None
LINK = re.compile(r'href="([^"#]+)')
TITLE = re.compile(r"<title>(.*?)</title>", re.S)


def fetch(url):
    """(title, links) of a page, or None if it can't be fetched."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            html = r.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError):
        return None
    title = TITLE.search(html)
    links = []
    for href in LINK.findall(html):
        links.append(urllib.parse.urljoin(url, href))
    return (title.group(1).strip() if title else ""), links


def record_page(call, service, url, title):
    """The effect: POST the page to the service, keyed for de-duplication.
    Runs at least once; a lost reply or a dead lambda means it runs again
    with the same call.key."""
    body = json.dumps({"url": url, "title": title}).encode()
    headers = {"Content-Type": "application/json", **call.headers()}
    delay = 0.1
    for attempt in range(8):
        try:
            req = urllib.request.Request(service, data=body, headers=headers, method="POST")
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.loads(r.read() or b"{}")
        except (urllib.error.URLError, OSError):
            if attempt == 7:
                raise
            time.sleep(delay)
            delay *= 2


def crawl_worker(todo, done, service):
    pages = 0
    while True:
        url = todo.dequeue()
        if url is STOP:
            return pages
        page = fetch(url)
        if page is None:
            done.enqueue((url, None))
            continue
        title, links = page
        call_external(record_page, service, url, title)
        pages += 1
        done.enqueue((url, links))


def handler(event, context):
    start = event["start"]
    service = event["service"]
    workers = event.get("workers", 4)
    limit = event.get("max_pages", 1000)
    host = urllib.parse.urlsplit(start).netloc
    # Room for every page in both queues: the root and the workers never
    # wait for each other in a cycle.
    todo = create_queue(limit + workers)
    done = create_queue(limit)
    crawlers = []
    for _ in range(workers):
        crawlers.append(spawn(crawl_worker, (todo, done, service)))
    seen = {start}
    todo.enqueue(start)
    pending, pages, broken = 1, [], []
    while pending:
        url, links = done.dequeue()
        pending -= 1
        if links is None:
            broken.append(url)
            continue
        pages.append(url)
        fresh = []
        for link in links:
            if urllib.parse.urlsplit(link).netloc == host and link not in seen and len(seen) < limit:
                seen.add(link)
                fresh.append(link)
        if fresh:
            todo.enqueue(*fresh)
            pending += len(fresh)
    todo.enqueue(*[STOP] * workers)
    per_worker = wait(crawlers)
    return {"pages": len(pages), "broken": sorted(broken), "per_worker": per_worker}
