"""``scrapy savefixture URL|FILE --template SITE/NAME``: the Scrapy face of ``scrapec fixture save``
(registered by the ``scrapy.commands`` entry point of the scrapec distribution)."""

from __future__ import annotations

import argparse

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "URL|FILE --template SITE/NAME [--case NAME]"

    def short_desc(self) -> str:
        return "Save a page as a fixture with the current parser's item, for review"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--template", required=True, metavar="SITE/NAME")
        parser.add_argument("--case", help="case folder name (default case-NN)")
        parser.add_argument("--url", help="URL of a saved page")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one URL or .html file")
        from crawler.cli import main
        from crawler.settings import Settings

        assert self.settings is not None
        settings = Settings.from_scrapy(self.settings)
        argv = [
            "fixture",
            "save",
            args[0],
            "--template",
            opts.template,
            "--registry",
            settings.registry,
            "--fixtures",
            settings.fixtures,
        ]
        if opts.case:
            argv += ["--case", opts.case]
        if opts.url:
            argv += ["--url", opts.url]
        self.exitcode = main(argv)
