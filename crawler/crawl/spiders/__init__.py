"""Spiders of the scrapec project."""
