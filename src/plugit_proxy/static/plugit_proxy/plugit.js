/* PlugIt's page helper, in every layout: `plugit.socket(route, options)` opens a WebSocket to
 * one of the service's `@service.websocket` routes through the proxy, and opens it again
 * (waiting 0.5 s, 1 s, 2 s, ... up to 30 s, with some jitter) whenever it closes, until the
 * page calls `close()` or the proxy refuses it for good (4401, 4403, 4404: a new try would be
 * refused the same way). The delays start again from 0.5 s once a socket has worked (a
 * message received, or open for 10 s).
 *
 *   const live = plugit.socket("live/3", {json: true, onmessage: (data) => draw(data)});
 *   live.send({hello: 1});  // sent as JSON when it is open, dropped otherwise
 *   live.close();
 *
 * A route without a leading "/" is below the service's mount (the page's ebuio_baseUrl); one
 * with it is a path on this host; a ws:, wss:, http: or https: URL is used as it is.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var mount = (script && script.getAttribute("data-plugit-base")) || "/";
  var REFUSED = [4401, 4403, 4404];
  var STEADY = 10000;  // ms open: the socket worked

  function socketUrl(route) {
    var url = new URL(/^[a-z]+:|^\//i.test(route) ? route : mount + route, window.location.href);
    url.protocol = url.protocol === "https:" || url.protocol === "wss:" ? "wss:" : "ws:";
    return url.href;
  }

  function socket(route, options) {
    options = options || {};
    var url = socketUrl(route);
    var first = options.initialDelay || 500;
    var longest = options.maxDelay || 30000;
    var handle = {url: url, socket: null, attempts: 0, closed: false};
    var timer = null;

    function call(name, a, b) {
      if (typeof options[name] === "function") {
        try {
          options[name](a, b);
        } catch (error) {
          window.setTimeout(function () { throw error; });  // shown in the console, not fatal
        }
      }
    }

    function open() {
      timer = null;
      var ws = new WebSocket(url);
      handle.socket = ws;
      var openedAt = null;
      var heard = false;
      ws.onopen = function (event) {
        openedAt = Date.now();
        call("onopen", event);
      };
      ws.onmessage = function (event) {
        heard = true;
        var data = event.data;
        if (options.json) {
          try {
            data = JSON.parse(data);
          } catch (error) {
            return call("onerror", error);
          }
        }
        call("onmessage", data, event);
      };
      ws.onclose = function (event) {
        call("onclose", event);
        if (handle.closed || REFUSED.indexOf(event.code) >= 0) {
          handle.closed = true;
          return;
        }
        // A socket that opens and closes at once (the proxy's answer when the service is
        // down) keeps backing off; one that worked for a while starts again from the first.
        if (heard || (openedAt !== null && Date.now() - openedAt > STEADY)) handle.attempts = 0;
        var delay = Math.min(longest, first * Math.pow(2, handle.attempts));
        handle.attempts += 1;
        timer = window.setTimeout(open, delay * (0.8 + 0.4 * Math.random()));
      };
    }

    handle.send = function (message) {
      var ws = handle.socket;
      if (!ws || ws.readyState !== WebSocket.OPEN) return false;
      ws.send(typeof message === "string" ? message : JSON.stringify(message));
      return true;
    };
    handle.close = function () {
      handle.closed = true;
      if (timer !== null) window.clearTimeout(timer);
      if (handle.socket) handle.socket.close(1000);
    };
    open();
    return handle;
  }

  window.plugit = window.plugit || {};
  window.plugit.socket = socket;
  window.plugit.socketUrl = socketUrl;
})();
