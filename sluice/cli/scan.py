"""`sluice scan` and `sluice csp-policy`: the website's third parties."""

from urllib.parse import urlsplit

import click
import msgspec
from tqdm import tqdm

from scanner.policy import report_only_headers
from scanner.scan import scan
from scanner.settings import Target
from sluice.cli._common import Context, call, context, global_options
from sluice.cli.render import print_scan


@click.command("scan")
@global_options
@click.argument("urls", nargs=-1)
@click.option("--site", help="The site the URLs belong to (default: the target with their host, else the first site).")
@click.option("--dynamic/--static", default=None, help="Load pages in headless Chromium too (default: scanner.dynamic).")
def scan_command(urls: tuple[str, ...], site: str | None, dynamic: bool | None) -> None:
    """Crawl the website (the configured targets, or URLS) and list every third party it loads."""
    ctx = context()
    settings = ctx.config.scanner
    if dynamic is not None:
        settings = msgspec.structs.replace(settings, dynamic=dynamic)
    targets = [_adhoc_target(ctx, list(urls), site)] if urls else settings.targets
    if not targets:
        raise click.UsageError("name URLs to scan, or list [[scanner.targets]] in the config file")
    origins = {s.id: s.origins for s in ctx.config.sites}
    for target in targets:
        with tqdm(total=settings.max_pages, unit=" pages", desc=f"scanning {target.site}") as bar:
            result = scan(target, settings, own_origins=origins.get(target.site, ()),
                          on_page=lambda page: bar.update(1))
            bar.total = bar.n
            bar.refresh()
        recorded = call("POST", "/api/ops/scans", json=msgspec.to_builtins(result))
        print_scan(recorded, settings)


@click.command("csp-policy")
@global_options
@click.option("--site", help="Site id (default: the first configured site).")
@click.option("--report-uri", default="/csp-report", show_default=True,
              help="Where browsers send reports: Sluice's public /csp-report, as the site's pages reach it.")
def csp_policy_command(site: str | None, report_uri: str) -> None:
    """Print report-only CSP headers allowing the site's origins and allowed vendors."""
    ctx = context()
    chosen = next((s for s in ctx.config.sites if s.id == (site or ctx.config.sites[0].id)), None)
    if chosen is None:
        raise click.BadParameter(f"no site {site!r}", param_hint="--site")
    for name, value in report_only_headers(chosen.origins, ctx.config.scanner, report_uri).items():
        click.echo(f"{name}: {value}")


def _adhoc_target(ctx: Context, urls: list[str], site: str | None) -> Target:
    hosts = {urlsplit(url).hostname for url in urls}
    matching = next((t.site for t in ctx.config.scanner.targets if hosts & {urlsplit(u).hostname for u in t.start_urls}),
                    None)
    try:
        return msgspec.convert({"site": site or matching or ctx.config.sites[0].id, "start_urls": urls}, Target)
    except msgspec.ValidationError as exc:
        raise click.BadParameter(str(exc)) from None
