"""Reading export files: folders and zip archives member by member, JSON whole or streamed.

Every failure becomes an ImportFormatError whose message names the file and the position, so
`pulse import` can stop with one clear line instead of a traceback.
"""

from __future__ import annotations

import contextlib
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import ijson
import orjson

UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError)


class ImportFormatError(Exception):
    """An export that cannot be read: the message names the file and where it went wrong."""


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
    """A binary stream that counts the bytes read through it and skips a UTF-8 BOM."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.position = 0
        self._first = True

    def read(self, size: int = -1) -> bytes:
        """Read up to SIZE bytes."""
        data = self._raw.read(size)
        if self._first:
            self._first = False
            if data[:2] in _UTF16_BOMS:
                raise ImportFormatError("the file is UTF-16 encoded; exports are UTF-8")
            if data.startswith(UTF8_BOM):
                self.position += len(UTF8_BOM)
                data = data[len(UTF8_BOM) :]
        self.position += len(data)
        return data


def describe_json_stream_error(exc: Exception) -> str:
    """A short, human reason for an ijson failure (its own message spans several lines)."""
    text = str(exc)
    if "premature EOF" in text or "Incomplete JSON" in text:
        return "the file ends in the middle of the JSON (truncated?)"
    if "UTF8" in text or "UTF-8" in text:
        return "not UTF-8 text (wrong encoding? exports are UTF-8)"
    # yajl's message is the repr of bytes with escaped newlines: keep its first line.
    first = text.removeprefix("b'").split("\\n")[0].split("\n")[0].strip()
    return f"not valid JSON ({first or type(exc).__name__})"


def stream_items(stream: CountingReader, prefix: str) -> Iterator:
    """Objects under PREFIX of a JSON document, parsed incrementally (ijson's C backend)."""
    return ijson.items(stream, prefix, use_float=True, buf_size=256 * 1024)


JSON_STREAM_ERRORS = (ijson.JSONError, ijson.IncompleteJSONError)


class ExportSource:
    """A folder or a zip archive holding an export, read one member at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._sizes: dict[str, int] = {}
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                if file.is_file():
                    self._sizes[file.relative_to(path).as_posix()] = file.stat().st_size
        elif path.is_file():
            try:
                self._zip = zipfile.ZipFile(path)
            except _ZIP_ERRORS as exc:
                raise ImportFormatError(
                    f"{path}: not a readable zip archive ({exc}); a truncated download "
                    "loses the archive's index at its end: download the export again"
                ) from None
            except OSError as exc:
                raise ImportFormatError(f"{path}: cannot be read: {exc.strerror}") from None
            for info in self._zip.infolist():
                if not info.is_dir():
                    self._sizes[info.filename] = info.file_size
        else:
            raise ImportFormatError(f"{path}: no such file or folder")

    def close(self) -> None:
        """Close the archive, if one is open."""
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> ExportSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def names(self) -> list[str]:
        """Every file inside, as POSIX paths relative to the export."""
        return list(self._sizes)

    def size(self, name: str) -> int:
        """A member's size in bytes (uncompressed)."""
        return self._sizes[name]

    def label(self, name: str) -> str:
        """How a member is named in messages: the archive or folder, then the member."""
        return f"{self.path}:{name}" if self._zip is not None else str(self.path / name)

    def read(self, name: str) -> bytes:
        """A whole member (for the small files: Slack day files, channel lists)."""
        with self._reading(name):
            if self._zip is not None:
                return self._zip.read(name)
            return (self.path / PurePosixPath(name)).read_bytes()

    def open(self, name: str) -> BinaryIO:
        """A member as a binary stream (for files that may be large)."""
        with self._reading(name):
            if self._zip is not None:
                return self._zip.open(name)
            return (self.path / PurePosixPath(name)).open("rb")

    @contextlib.contextmanager
    def _reading(self, name: str) -> Iterator[None]:
        """Turn a damaged archive or an unreadable file into an error naming the member."""
        try:
            yield
        except _ZIP_ERRORS as exc:
            raise ImportFormatError(
                f"{self.label(name)}: the archive is damaged here ({exc})"
            ) from None
        except OSError as exc:
            raise ImportFormatError(f"{self.label(name)}: cannot be read: {exc}") from None

    def stream_json(self, name: str, prefix: str) -> Iterator:
        """Stream the objects under PREFIX of a member, with errors naming member and byte."""
        label = self.label(name)
        with self.open(name) as raw:
            reader = CountingReader(raw)
            index = 0
            try:
                for index, item in enumerate(stream_items(reader, prefix), 1):  # noqa: B007
                    yield item
            except ImportFormatError as exc:
                raise ImportFormatError(f"{label}: {exc}") from None
            except JSON_STREAM_ERRORS as exc:
                raise ImportFormatError(
                    f"{label}: {describe_json_stream_error(exc)}, after item {index:,}, "
                    f"within its first {reader.position:,} bytes"
                ) from None
            except _ZIP_ERRORS as exc:
                raise ImportFormatError(f"{label}: the archive is damaged here ({exc})") from None
