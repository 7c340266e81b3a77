"""Delivery to chat, written once: accept → lease → placeholder → brief → update → resume.

``Delivery`` (``delivery.py``) runs the protocol; a platform hands it a
``Surface`` (``surface.py``: post, find, update) and ``Request``s
(``jobs.py``); ``Order`` (``order.py``) is the one priority order of the work.
"""

from bot.delivery.delivery import Delivery
from bot.delivery.jobs import Asker, LinkJob, Request, host_of
from bot.delivery.order import Order
from bot.delivery.surface import Outcome, Ref, Surface

__all__ = ["Asker", "Delivery", "LinkJob", "Order", "Outcome", "Ref", "Request", "Surface",
           "host_of"]  # fmt: skip
