"""Read a Slack workspace export (a .zip or its unpacked folder) as a stream of events.

Layout: ``users.json``, ``channels.json`` (and ``groups.json``, ``mpims.json``, ``dms.json`` in
exports that include private conversations), and one folder per conversation holding a
``YYYY-MM-DD.json`` file per day. Day files are small and read one at a time; the user and channel
lists are streamed, and so is a day file too large to parse whole (bot.importers.limits has the
limits), so memory stays bounded whatever the export holds.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Collection, Iterator
from pathlib import Path

from bot.importers.feed import Chunk
from bot.importers.files import ExportSource
from bot.importers.json_reading import loads
from bot.importers.limits import MAX_DAY_FILE_BYTES, MAX_WHOLE_BYTES, ImportFormatError
from community.helpgraph import DEFAULT_ACCEPT_KEYS
from community.mapping import MappingError, text_or_none
from community.slack_map import SLACKBOT, SlackMapper, SlackUser, user_of

_DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")
# Messages naming a team read to tell the workspace when users.json is missing.
_TEAM_SAMPLE = 200
# A day file's messages go in chunks of this many, or fewer when they hold _CHUNK_EVENTS events.
_CHUNK_MESSAGES = 2000
_CHUNK_EVENTS = 20_000
# Channel list -> whether its conversations' folders are named by id (DMs) rather than name.
_CHANNEL_LISTS = {
    "channels.json": False,
    "groups.json": False,
    "mpims.json": False,
    "dms.json": True,
}


class SlackExportReader:
    """One Slack export, opened and checked; ``chunks()`` streams its events day file by day."""

    def __init__(
        self,
        path: Path,
        *,
        help_channels: Collection[str] = (),
        team_id: str | None = None,
        accept: frozenset[str] = DEFAULT_ACCEPT_KEYS,
    ) -> None:
        self.path = path
        self.source = ExportSource(path)
        try:
            self._root = self._find_root()
            users, found_team, has_users = self._read_users()
            folders, general = self._read_channels()
            plan = self._plan_day_files(folders)
            team = team_id or found_team or self._team_of_messages(plan)
            if not team:
                raise ImportFormatError(
                    f"{path}: cannot tell the workspace's team id (neither users.json nor the "
                    "messages name it); pass --team-id T…"
                )
            self.mapper = SlackMapper(
                team,
                users,
                help_channels=help_channels,
                # Everyone joins the general channel: there a join is joining the workspace.
                # Exports that mark no general channel count every channel join.
                join_channels={general} if general else None,
                accept=accept,
            )
            # users.json names everyone, also members who only appear as someone's target.
            self.member_names = {
                user: known.name for user, known in users.items() if known.name and not known.is_bot
            }
            self.skipped: Counter[str] = self.mapper.skipped
            self.skipped.update(self._skipped_in_plan)
            self._plan = plan
        except BaseException:
            self.source.close()
            raise
        # Opens the same export again, in an import's reader process.
        self.reopen = functools.partial(
            SlackExportReader, path, help_channels=tuple(help_channels), team_id=team
        )
        self.files = sum(len(names) for _, _, names in self._plan)
        # What the summary must say about what this export cannot show.
        self.notes: list[str] = []
        if not has_users:
            self.notes.append(
                "the export has no users.json: members are stored by id, unnamed until the "
                "live bot sees them"
            )
        self.total_bytes = sum(self.source.size(n) for _, _, names in self._plan for n in names)

    @property
    def team_id(self) -> str:
        """The workspace's team id: the space the events belong to."""
        return self.mapper.team_id

    def close(self) -> None:
        """Close the archive."""
        self.source.close()

    def _find_root(self) -> str:
        candidates = [
            name
            for name in self.source.names()
            if name.rsplit("/", 1)[-1] in ("users.json", "channels.json")
        ]
        if not candidates:
            raise ImportFormatError(
                f"{self.path}: not a Slack export (unknown layout): it has no users.json or "
                "channels.json"
            )
        shallowest = min(candidates, key=lambda n: (n.count("/"), n))
        return shallowest.rsplit("/", 1)[0] + "/" if "/" in shallowest else ""

    def _read_users(self) -> tuple[dict[str, SlackUser], str | None, bool]:
        name = self._root + "users.json"
        users: dict[str, SlackUser] = {SLACKBOT: SlackUser("Slackbot", is_bot=True)}
        teams: Counter[str] = Counter()
        if name not in self.source.names():
            return users, None, False
        for user in self.source.stream_json(name, "item"):
            user_id = text_or_none(user.get("id")) if isinstance(user, dict) else None
            if user_id is None:
                raise ImportFormatError(f"{self.source.label(name)}: a user has no id")
            users[user_id] = user_of(user)
            team = text_or_none(user.get("team_id"))
            if team:
                teams[team] += 1
        return users, (teams.most_common(1)[0][0] if teams else None), True

    def _team_of_messages(self, plan) -> str | None:
        """The team id most messages of the first day files carry (exports without users.json)."""
        teams: Counter[str] = Counter()
        for _, _, names in plan:
            for name in names:
                for msg in self._day_messages(name):
                    if not isinstance(msg, dict):
                        continue
                    team = msg.get("team") or msg.get("user_team") or msg.get("source_team")
                    if isinstance(team, str) and team:
                        teams[team] += 1
                if sum(teams.values()) >= _TEAM_SAMPLE:
                    return teams.most_common(1)[0][0]
        return teams.most_common(1)[0][0] if teams else None

    def _read_channels(self) -> tuple[dict[str, tuple[str, str | None]], str | None]:
        folders: dict[str, tuple[str, str | None]] = {}
        general = None
        names = set(self.source.names())
        for list_name, by_id in _CHANNEL_LISTS.items():
            name = self._root + list_name
            if name not in names:
                continue
            for channel in self.source.stream_json(name, "item"):
                channel_id = text_or_none(channel.get("id")) if isinstance(channel, dict) else None
                if channel_id is None:
                    raise ImportFormatError(f"{self.source.label(name)}: a channel has no id")
                channel_name = text_or_none(channel.get("name"))
                folder = channel_id if by_id or not channel_name else channel_name
                folders[folder] = (channel_id, channel_name)
                if channel.get("is_general"):
                    general = channel_id
        return folders, general

    def _plan_day_files(self, folders) -> list[tuple[str, str | None, list[str]]]:
        self._skipped_in_plan: Counter[str] = Counter()
        by_folder: dict[str, list[str]] = {}
        for name in self.source.names():
            if not name.startswith(self._root):
                continue
            parts = name[len(self._root) :].split("/")
            if len(parts) == 2 and _DAY_FILE.match(parts[1]):
                by_folder.setdefault(parts[0], []).append(name)
        plan = []
        for folder in sorted(by_folder):
            day_files = sorted(by_folder[folder])
            if folder not in folders:
                self._skipped_in_plan["day file in a folder no channel list names"] += len(
                    day_files
                )
                continue
            channel_id, channel_name = folders[folder]
            plan.append((channel_id, channel_name, day_files))
        return plan

    def chunks(self) -> Iterator[Chunk]:
        """The events of each day file in turn: day by day, each day's channels in turn.

        Day by day rather than channel by channel, so events arrive close to time order: a
        batch then completes most of its members' daily rollups instead of adding to them
        once per channel, and the time-ordered indexes grow at their ends. Each channel's
        files still come oldest first, which is all thread tracking needs.
        """
        mapper = self.mapper
        day_files = sorted(
            (name.rsplit("/", 1)[-1], position, channel_id, channel_name, name)
            for position, (channel_id, channel_name, names) in enumerate(self._plan)
            for name in names
        )
        for _, _, channel_id, channel_name, name in day_files:
            label = self.source.label(name)
            events = []
            index = counted = 0
            for index, message in enumerate(self._day_messages(name), 1):
                try:
                    events += mapper.events(message, channel_id, channel_name)
                except MappingError as exc:
                    raise ImportFormatError(f"{label}: message {index:,}: {exc}") from None
                if index - counted == _CHUNK_MESSAGES or len(events) >= _CHUNK_EVENTS:
                    yield Chunk(events, 0, index - counted)
                    counted = index
                    events = []
            yield Chunk(events, self.source.size(name), index - counted)

    def _day_messages(self, name: str) -> Iterator:
        """The messages of one day file: parsed whole when small, else streamed one by one."""
        if self.source.size(name) > MAX_WHOLE_BYTES:
            yield from self.source.stream_json(name, "item", MAX_DAY_FILE_BYTES, of="messages")
            return
        label = self.source.label(name)
        messages = loads(label, self.source.read(name))
        if not isinstance(messages, list):
            raise ImportFormatError(
                f"{label}: expected a list of messages, found a JSON "
                f"{type(messages).__name__} (unknown layout)"
            )
        yield from messages
