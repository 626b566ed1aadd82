# ruff: noqa  -- written exactly in the style of the original PlugIt services, on purpose
# fmt: off
import plugit
import actions

plugit.load_actions(actions)
plugit.app.config['SQLALCHEMY_DATABASE_URI'] = 'sqlite:///notes.db'
plugit.app.run(host='127.0.0.1', debug=plugit.params.DEBUG, threaded=True)
