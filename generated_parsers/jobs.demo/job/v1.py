"""jobs.demo/job, schema job_posting.

Generated 2026-11-22 by induce from 3 fixtures. Do not edit by hand: regenerate.
"""

from crawler.parsing import Page, date, number, regex, text


def parse(page: Page) -> dict:
    return {
        'title': text(page.xpath('id("job-root")//h1')),
        'company': text(page.xpath('id("job-root")//p')),
        'location': text(page.xpath('//dt[normalize-space()="Location:"]/following-sibling::dd[1]')),
        'employment_type': text(page.xpath('//dt[normalize-space()="Job type:"]/following-sibling::dd[1]')),
        'salary_min': number(text(page.xpath('//dt[normalize-space()="Salary:"]/following-sibling::dd[1]'))),
        'salary_max': number(regex('–\\ £\\s*(\\d[\\d.,]*)', text(page.xpath('//dt[normalize-space()="Salary:"]/following-sibling::dd[1]/text()')), 1)),
        'date_posted': date(text(page.xpath('//p[@class="job-posted"]'))),
        'description': text(page.xpath('//h2[normalize-space()="About the role"]/following-sibling::div[1]')),
    }
