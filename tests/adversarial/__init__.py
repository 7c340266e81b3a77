"""Adversarial tests: hostile links, pages, model answers, platform events and feeds."""
