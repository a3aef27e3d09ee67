"""shop.demo/product, schema product.

Generated 2026-11-22 by induce from 3 fixtures. Do not edit by hand: regenerate.
"""

from crawler.parsing import Page, absolute, currency, number, text


def parse(page: Page) -> dict:
    return {
        'name': text(page.xpath('id("content")//h1')),
        'price': number(text(page.xpath('//p[@class="price"]'))),
        'currency': currency(text(page.xpath('//p[@class="price"]'))),
        'sku': text(page.xpath('//th[normalize-space()="SKU"]/following-sibling::td[1]')),
        'brand': text(page.xpath('//th[normalize-space()="Brand"]/following-sibling::td[1]')),
        'description': text(page.xpath('//h2[normalize-space()="Description"]/following-sibling::p[1]')),
        'image': absolute(page, text(page.xpath('//img[@class="product-image"]/@src'))),
        'availability': text(page.xpath('//p[contains(concat(" ", normalize-space(@class), " "), " availability ")]')),
        'rating': number(text(page.xpath('//span[@class="rating-value"]'))),
    }
