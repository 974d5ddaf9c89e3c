"""The one exception type users see: a one-line message naming the culprit and what to do."""


class PipelineError(Exception):
    """Bad input or configuration; the message is one line and names the file, column or config key."""


def visible(name: str) -> str:
    """``name`` quoted for a message, every character that does not show itself escaped (combining marks,
    format and control characters, spaces other than ' '), so names that print alike read apart:
    'Café' (one character) against 'Cafe\\u0301' (e and a combining accent)."""
    import unicodedata

    out = []
    for ch in name:
        category = unicodedata.category(ch)
        if category[0] in "MC" or (category[0] == "Z" and ch != " ") or not ch.isprintable():
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
        else:
            out.append({"\\": "\\\\", "'": "\\'"}.get(ch, ch))
    return "'" + "".join(out) + "'"
