"""Parsing export JSON: small files whole (orjson), large ones streamed item by item (ijson).

Every failure becomes an ImportFormatError naming the line, column or byte; every chunk read
passes a JsonGuard (bot.importers.limits) before the parser sees it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import ijson
import orjson

from bot.importers.limits import ImportFormatError, ImportLimitError, JsonGuard

UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# The guard checks each read whole: reads stay this small.
READ_SIZE = 256 * 1024


def not_utf8(label: str, data: bytes) -> ImportFormatError | None:
    """The error to raise when DATA is not UTF-8 text, naming its line and byte; else None."""
    if data[:2] in _UTF16_BOMS:
        return ImportFormatError(
            f"{label}: the file is UTF-16 encoded; exports are UTF-8 (re-save it as UTF-8)"
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return ImportFormatError(
            f"{label}: not UTF-8 text at line {line}, byte {exc.start:,} "
            "(wrong encoding? exports are UTF-8)"
        )
    return None


def loads(label: str, data: bytes):
    """Parse a whole JSON document (a small file), naming line, column and byte on failure."""
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    try:
        JsonGuard().check(data)
    except ImportLimitError as exc:
        raise ImportLimitError(f"{label}: {exc}") from None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        bad_encoding = not_utf8(label, data)
        if bad_encoding is not None:
            raise bad_encoding from None
        if exc.pos >= len(data.rstrip()):
            where = f"the file ends early, at byte {exc.pos:,} (truncated?)"
        else:
            where = f"line {exc.lineno}, column {exc.colno} (byte {exc.pos:,}): {exc.msg}"
        raise ImportFormatError(f"{label}: not valid JSON: {where}") from None


class CountingReader:
    """A binary stream that counts the bytes read through it and skips a UTF-8 BOM.

    Every chunk passes its JsonGuard before the parser gets it (see stream_items for BASE).
    """

    def __init__(self, raw: BinaryIO, base: int = 1) -> None:
        self._raw = raw
        self.position = 0
        self._first = True
        self.guard = JsonGuard(base)
        self._error: ImportLimitError | None = None

    def read(self, size: int = -1) -> bytes:
        """Read up to SIZE bytes (at most 256 KiB: the guard checks each read whole)."""
        if self._error is not None:
            raise self._error
        if size == 0:  # ijson asks for nothing first, to tell bytes from text
            return b""
        data = self._raw.read(READ_SIZE if size < 0 or size > READ_SIZE else size)
        if self._first and data:
            self._first = False
            if data[:2] in _UTF16_BOMS:
                raise ImportFormatError("the file is UTF-16 encoded; exports are UTF-8")
            if data.startswith(UTF8_BOM):
                self.position += len(UTF8_BOM)
                data = data[len(UTF8_BOM) :]
        self.position += len(data)
        data, self._error = self.guard.take(data)
        if not data and self._error is not None:
            raise self._error
        return data


def describe_json_stream_error(exc: Exception) -> str:
    """A short, human reason for an ijson failure (its own message spans several lines)."""
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text (wrong encoding? exports are UTF-8)"
    text = str(exc)
    if "premature EOF" in text or "Incomplete JSON" in text:
        return "the file ends in the middle of the JSON (truncated?)"
    if "UTF8" in text or "UTF-8" in text:
        return "not UTF-8 text (wrong encoding? exports are UTF-8)"
    # yajl's message is the repr of bytes with escaped newlines: keep its first line.
    first = text.removeprefix("b'").split("\\n")[0].split("\n")[0].strip()
    return f"not valid JSON ({first or type(exc).__name__})"


def stream_items(stream: CountingReader, prefix: str) -> Iterator:
    """Objects under PREFIX of a JSON document, parsed incrementally (ijson's C backend).

    Each object is held to MAX_VALUE_BYTES: the guard measures values below PREFIX's level.
    """
    stream.guard.base = prefix.count(".") + 1
    return ijson.items(stream, prefix, use_float=True, buf_size=READ_SIZE)


# ijson lets a decoding error through as it is.
JSON_STREAM_ERRORS = (ijson.JSONError, ijson.IncompleteJSONError, UnicodeDecodeError)
