#!/usr/bin/env python3
"""Fails on a broken internal link or anchor in the built book and in the Markdown files that
link into it (README.md, CHANGELOG.md, ...).

usage: check-links.py BOOK_HTML_DIR [MARKDOWN_FILE ...]

In the HTML book every relative href must name a file the book has and, with a #fragment, an
id in that file. In a Markdown file every relative link must name a file of the repository and,
with a #fragment into a Markdown file, a heading of that file (GitHub's and mdBook's slug rule).
External links (a scheme, or //host) are not checked: CI has no network.
"""
import html.parser
import os
import re
import sys
import urllib.parse

SKIP_PAGES = {"print.html", "toc.html", "404.html"}


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.hrefs = set(), []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)
            if tag == "a" and name == "href" and value:
                self.hrefs.append(value)


def external(href):
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", href)) or href.startswith("//")


def check_book(root):
    pages = {}
    for folder, _, files in os.walk(root):
        for f in files:
            if f.endswith(".html"):
                path = os.path.join(folder, f)
                page = Page()
                with open(path, encoding="utf-8") as fh:
                    page.feed(fh.read())
                pages[os.path.normpath(path)] = page
    errors = []
    for path, page in sorted(pages.items()):
        if os.path.basename(path) in SKIP_PAGES:
            continue
        for href in page.hrefs:
            if external(href):
                continue
            target, _, fragment = href.partition("#")
            target = urllib.parse.unquote(target)
            dest = os.path.normpath(os.path.join(os.path.dirname(path), target)) if target else path
            if os.path.isdir(dest):
                dest = os.path.join(dest, "index.html")
            rel = os.path.relpath(path, root)
            if dest.endswith(".html"):
                if dest not in pages:
                    errors.append(f"{rel}: link to a missing page: {href}")
                elif fragment and urllib.parse.unquote(fragment) not in pages[dest].ids:
                    errors.append(f"{rel}: link to a missing anchor: {href}")
            elif not os.path.exists(dest):
                errors.append(f"{rel}: link to a missing file: {href}")
    return errors, len(pages)


def slug(heading):
    """The anchor GitHub and mdBook give a heading."""
    text = re.sub(r"`|\*\*|\[|\]\([^)]*\)", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(md_path):
    found, fence = set(), False
    with open(md_path, encoding="utf-8") as fh:
        for line in fh:
            if line.lstrip().startswith("```"):
                fence = not fence
            elif not fence and (m := re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)):
                base, n = slug(m.group(1)), 0
                while (s := base if n == 0 else f"{base}-{n}") in found:
                    n += 1
                found.add(s)
    return found


LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def check_markdown(md_path):
    errors, fence = [], False
    with open(md_path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.lstrip().startswith("```"):
                fence = not fence
                continue
            if fence:
                continue
            for href in LINK.findall(re.sub(r"`[^`]*`", "", line)):
                if external(href):
                    continue
                target, _, fragment = href.partition("#")
                dest = os.path.normpath(os.path.join(os.path.dirname(md_path), target)) if target else md_path
                if not os.path.exists(dest):
                    errors.append(f"{md_path}:{lineno}: link to a missing file: {href}")
                elif fragment and dest.endswith(".md") and fragment not in anchors(dest):
                    errors.append(f"{md_path}:{lineno}: link to a missing anchor: {href}")
    return errors


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    errors, pages = check_book(argv[1])
    if pages == 0:
        errors.append(f"{argv[1]}: no HTML pages: build the book first (mdbook build docs)")
    for md in argv[2:]:
        errors += check_markdown(md)
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        sys.exit(f"check-links: {len(errors)} broken link(s)")
    print(f"check-links: {pages} pages and {len(argv) - 2} Markdown file(s), no broken link")


if __name__ == "__main__":
    main(sys.argv)
