"""Import limits that keep memory bounded, the guard enforcing them on JSON, and import errors.

A parser builds what it reads before Pulse can look at it (ijson's C backend builds a whole
item, and keeps a path string per nesting level, so its memory grows with the square of the
depth), so the limits are checked on the bytes before any parser sees them: JsonGuard follows
the nesting of every chunk read (a byte scan at C speed) and stops a document nested too deep or
holding one value too large; zip members are counted as they are decompressed, against a size
and a compression ratio (bot.importers.files); a file read whole has a size limit. Real exports
stay far below every limit (see docs/importing.md).
"""

from __future__ import annotations

import itertools
import re

MiB = 1024 * 1024

# The limits. Real exports nest under 20 levels, hold messages of a few KB, day files of a few MB
# and compress about 10:1.
MAX_DEPTH = 128  # nesting levels of a JSON document
MAX_VALUE_BYTES = 8 * MiB  # one streamed value: a message, a user, a channel, a header object
MAX_WHOLE_BYTES = 4 * MiB  # larger JSON files are streamed value by value, not parsed whole
MAX_DAY_FILE_BYTES = 256 * MiB  # one Slack day file
MAX_MEMBER_BYTES = 4096 * MiB  # one zip member, decompressed
MAX_RATIO = 250  # decompressed bytes per compressed byte of a zip member...
RATIO_FROM = 8 * MiB  # ...once a member has decompressed to this much


class ImportFormatError(Exception):
    """An export that cannot be read: the message names the file and where it went wrong."""


class ImportLimitError(ImportFormatError):
    """An export beyond one of the limits that keep an import's memory bounded."""


def limit_note(what: str) -> str:
    """WHAT went past a limit, with a word on why Pulse has it (for ImportLimitError)."""
    return f"{what} (Pulse's limit, which keeps memory bounded; real exports stay far below it)"


class JsonGuard:
    """Follows a JSON document's nesting chunk by chunk, before a parser builds anything of it.

    It raises ImportLimitError when the document nests deeper than MAX_DEPTH or when one value
    below BASE levels (a streamed item) runs past MAX_VALUE_BYTES. Only quotes, backslashes and
    brackets matter, so a chunk is reduced to those with C-speed byte operations; the sizes are
    exact to within a chunk. For invalid JSON the count may be off, but the parser stops there.
    """

    def __init__(self, base: int = 1) -> None:
        self.base = base
        self.depth = 0
        self.position = 0  # bytes checked
        self.first: int | None = None  # the first bracket outside strings, if any
        self._in_string = False
        self._escape = False
        self._value = 0  # bytes since a value at BASE levels or fewer began or ended

    def check(self, chunk: bytes) -> None:
        """Account for CHUNK, the next bytes of the document; raise when it passes a limit."""
        size = len(chunk)
        self.position += size
        if self._escape and chunk:
            chunk = chunk[1:]
            self._escape = False
        if b"\\" in chunk:
            # Every escape goes, left to right (an escaped backslash, an escaped quote...); a
            # backslash left at the end escapes the next chunk's first byte.
            chunk = _ESCAPE.sub(b"", chunk)
            if chunk.endswith(b"\\"):
                self._escape = True
        residue = chunk.translate(None, _NOT_STRUCTURE)
        if b'"' in residue:
            parts = residue.split(b'"')
            brackets = b"".join(parts[1::2] if self._in_string else parts[::2])
            if len(parts) % 2 == 0:
                self._in_string = not self._in_string
        else:
            brackets = b"" if self._in_string else residue
        if brackets:
            if self.first is None:
                self.first = brackets[0]
            run = list(itertools.accumulate(map(_STEP.__getitem__, brackets), initial=self.depth))
            deepest, self.depth = max(run), run[-1]
            if deepest > MAX_DEPTH:
                raise ImportLimitError(
                    limit_note(
                        f"nested deeper than {MAX_DEPTH} levels, within its first "
                        f"{self.position:,} bytes"
                    )
                )
            ended = min(run) <= self.base
        else:
            ended = bool(residue) and self.depth <= self.base
        if ended:
            self._value = 0
            return
        self._value += size
        if self._value > MAX_VALUE_BYTES:
            raise ImportLimitError(
                limit_note(
                    f"one value larger than {MAX_VALUE_BYTES // MiB} MiB, "
                    f"within its first {self.position:,} bytes"
                )
            )

    def take(self, chunk: bytes) -> tuple[bytes, ImportLimitError | None]:
        """The part of CHUNK within the limits, and the error just past it (or None).

        A parser given that part builds everything before the offending bytes (the messages
        before a bad one are imported) and nothing of them.
        """
        state = dict(self.__dict__)
        try:
            self.check(chunk)
        except ImportLimitError:
            self.__dict__.update(state)
        else:
            return chunk, None
        # Rare (a document past a limit): find the place again in pieces too small to matter.
        for start in range(0, len(chunk), _PIECE):
            try:
                self.check(chunk[start : start + _PIECE])
            except ImportLimitError as exc:
                return chunk[:start], exc
        return chunk, None


_PIECE = 64
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_STEP = [0] * 256
for _open, _close in (b"[]", b"{}"):
    _STEP[_open], _STEP[_close] = 1, -1
