# -*- coding: utf-8 -*-
# ruff: noqa  -- written in the style of the original services on purpose
# Configuration of the service, as the original PlugIt services wrote it.

DEBUG = False

PI_BASE_URL = "/"

# IP allowed to use the PlugIt API.
PI_ALLOWED_NETWORKS = ["127.0.0.1/32", "::1/128"]

PI_API_NAME = "EBUio-PlugIt"

API_URL = "http://127.0.0.1:8000/plugIt/ebuio_api/"
