"""news.demo/article, schema article.

Generated 2026-11-22 by induce from 3 fixtures. Do not edit by hand: regenerate.
"""

from crawler.parsing import Page, absolute, date, ld, texts


def parse(page: Page) -> dict:
    return {
        'headline': ld(page, 'headline', 'NewsArticle'),
        'author': texts(page.xpath('//span[@itemprop="author"]')),
        'date_published': date(ld(page, 'datePublished', 'NewsArticle')),
        'section': ld(page, 'articleSection', 'NewsArticle'),
        'summary': ld(page, 'description', 'NewsArticle'),
        'image': absolute(page, ld(page, 'image', 'NewsArticle')),
    }
