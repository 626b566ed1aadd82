# -*- coding: utf-8 -*-
# ruff: noqa  -- written in the style of the original services on purpose
"""Run the service, exactly as original PlugIt services did (port from argv or $PORT)."""

import os
import sys

import plugit
import actions

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("PORT", "5000"))

if __name__ == "__main__":
    plugit.load_actions(actions)
    plugit.app.run(host="127.0.0.1", port=PORT, debug=False, threaded=True)
