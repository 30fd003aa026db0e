"""What a strict Content-Security-Policy (no 'unsafe-inline') would block in a page: inline
<script> and <style> blocks, style attributes, on* event handlers and javascript: URLs."""

from __future__ import annotations

from html.parser import HTMLParser

CSP = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
)


class _Finder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        shown = self.get_starttag_text() or tag
        if tag == "script" and not values.get("src") and values.get("type") != "application/json":
            self.found.append(f"inline script: {shown[:120]}")
        if tag == "style":
            self.found.append("a <style> block")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"{name}= attribute: {shown[:120]}")
            if (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"javascript: URL: {shown[:120]}")


def inline_code(page: str) -> list[str]:
    finder = _Finder()
    finder.feed(page)
    finder.close()
    return finder.found


def strict_policy(header: str) -> bool:
    directives = {part.strip() for part in header.split(";")}
    return all(d in directives for d in CSP) and "unsafe" not in header
