"""Settings of the polls service, with the names the original PlugIt used.

`plugit serve` reads this file from the working directory; `PLUGIT_*` environment variables
(e.g. `PLUGIT_DEBUG=1`) override it. The database is set apart, with `POLLS_DATABASE_URL` or
`POLLS_DATA_DIR`.
"""

# Reload templates on each call and tell the proxy not to cache meta answers.
DEBUG = False

# The prefix every protocol call is under (always ending with "/").
PI_BASE_URL = "/"

# Only proxies calling from these networks may reach the service (CIDR, IPv4 or IPv6).
PI_ALLOWED_NETWORKS = ["127.0.0.1/32", "::1/128"]
