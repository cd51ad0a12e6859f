"""Entry point of an import's reader process: ``python -m bot.importers.reader_process``."""

from bot.importers.feed import child_main

if __name__ == "__main__":
    child_main()
