"""news.demo/article, schema article.

Generated 2026-12-01 by induce from 3 fixtures. Do not edit by hand: regenerate.
"""

from crawler.parsing import Page, absolute, date, ld, lines, paragraphs


def parse(page: Page) -> dict:
    return {
        'headline': ld(page, 'headline', 'NewsArticle'),
        'author': lines(page.xpath('//span[@itemprop="author"]')),
        'date_published': date(ld(page, 'datePublished', 'NewsArticle')),
        'section': ld(page, 'articleSection', 'NewsArticle'),
        'summary': ld(page, 'description', 'NewsArticle'),
        'body': paragraphs(page.xpath('//div[@itemprop="articleBody"]')),
        'image': absolute(page, ld(page, 'image', 'NewsArticle')),
    }
