# -*- coding: utf-8 -*-
# ruff: noqa  -- written exactly in the style of the original PlugIt services, on purpose
# fmt: off

# Debug mode
DEBUG = False

# PlugIt base URL
PI_BASE_URL = '/'

# IPs allowed to use the PlugIt API
PI_ALLOWED_NETWORKS = ['127.0.0.1/32', '::1/128']

# The name of the PlugIt API
PI_API_NAME = 'EBUio-PlugIt'

# The URL of the proxy's API, for PlugItAPI
API_URL = 'http://127.0.0.1:8000/plugIt/ebuio_api/'

# How many notes the home page lists
NOTES_PER_PAGE = 20
