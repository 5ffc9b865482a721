package page

// script is the pages' only script, inline, and it only adds to a page that reads the
// same without it:
//   - each <time datetime> gets a relative hint ("5 min ago"), from the reader's clock,
//     refreshed every 15 s;
//   - a running build's page (pre#log with data-follow) follows build.log: every 2 s it asks
//     for the bytes past what it has (a Range request of at most 1 MiB; far behind, it
//     asks for the last 1 MiB and says how much it skipped; a server that ignores Range
//     sends the whole file, which is cut), appends them as text, keeping at most 2 MiB
//     of the log (the oldest goes), and reads build.json; when the
//     build has ended it shows the result, stops, and 2 s later loads the page again (once:
//     ?ended; a success's from the directory without .tmp), which the daemon has rewritten
//     by then with how the build ended (a failure's last lines, the result's colour). A
//     reader scrolled to the end stays
//     there as the log grows. A build.json gone means the
//     successful build's directory lost its .tmp: the page goes there.
//
// Everything it adds is text (textContent), never markup.
const script = `(function () {
  "use strict";
  function ago(s) {
    s = Math.max(0, Math.round(s));
    if (s < 60) return s + " s ago";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    if (s < 172800) return Math.floor(s / 3600) + " h ago";
    return Math.floor(s / 86400) + " days ago";
  }
  function hints() {
    var now = Date.now();
    document.querySelectorAll("time[datetime]").forEach(function (t) {
      var h = t.nextElementSibling;
      if (!h || h.className !== "ago") {
        h = document.createElement("span");
        h.className = "ago";
        t.parentNode.insertBefore(h, t.nextSibling);
      }
      h.textContent = " (" + ago((now - Date.parse(t.getAttribute("datetime"))) / 1000) + ")";
    });
  }
  hints();
  setInterval(hints, 15000);

  var log = document.getElementById("log");
  if (!log || !log.dataset.follow || location.protocol === "file:") return;
  // chunk bounds what one request brings, and the page keeps at most twice that of the log:
  // a build that prints megabytes a second must not pour them all into an open page.
  var offset = Number(log.dataset.offset), decoder = new TextDecoder(), chunk = 1 << 20, kept = log.textContent.length;
  function append(buf) {
    if (buf.byteLength === 0) return;
    offset += buf.byteLength;
    // Follow the end only when the reader has scrolled there, as tail -f would.
    var atEnd = window.scrollY > 0 && window.innerHeight + window.scrollY >= document.body.scrollHeight - 8;
    var text = decoder.decode(buf, {stream: true});
    log.appendChild(document.createTextNode(text));
    kept += text.length;
    while (kept > 2 * chunk && log.firstChild !== log.lastChild) {
      kept -= log.firstChild.textContent.length;
      log.removeChild(log.firstChild);
    }
    if (atEnd) window.scrollTo(0, document.body.scrollHeight);
  }
  // skip goes over the bytes up to to, which are too many to show: build.log has them.
  function skip(to) {
    if (to <= offset) return;
    log.appendChild(document.createTextNode("\n[" + (to - offset) + " bytes more: see build.log]\n"));
    offset = to;
    decoder = new TextDecoder();
  }
  function get(range) {
    return fetch(log.dataset.follow, {headers: {Range: "bytes=" + range}, cache: "no-store"});
  }
  function readLog() {
    return get(offset + "-" + (offset + chunk - 1)).then(function (r) {
      if (r.status === 206) {
        var total = Number((r.headers.get("Content-Range") || "").split("/")[1]);
        if (!(total - offset > chunk)) return r.arrayBuffer().then(append);
        // Far behind: the last chunk only ("bytes START-END/TOTAL" says where it starts).
        return get("-" + chunk).then(function (r) {
          var start = Number(((r.headers.get("Content-Range") || "").match(/bytes (\d+)-/) || [])[1]);
          if (r.status !== 206 || !(start >= offset)) return;
          return r.arrayBuffer().then(function (b) { skip(start); append(b); });
        });
      }
      // A server that ignores Range sends the whole file.
      if (r.status === 200) return r.arrayBuffer().then(function (b) {
        var from = Math.max(offset, b.byteLength - chunk);
        skip(from);
        append(b.slice(from));
      });
    });
  }
  function ended(st) {
    var state = document.getElementById("state");
    if (state && state.firstChild) state.firstChild.textContent = st.result;
    if (location.search.indexOf("ended") >= 0) return;
    // A successful build's directory is about to lose its .tmp, and its page with it.
    var page = location.pathname;
    if (st.result === "success") page = page.replace(/\.tmp\/(index\.html)?$/, "/$1");
    setTimeout(function () { location.replace(page + "?ended"); }, 2000);
  }
  // One request at a time: the next tick is set when this one is done.
  function tick() {
    readLog().then(function () {
      return fetch("build.json", {cache: "no-store"});
    }).then(function (r) {
      if (r.status === 404) {
        location.replace(location.href.replace(/\.tmp\/(index\.html)?([?#].*)?$/, "/$1"));
        return;
      }
      if (!r.ok) return true;
      return r.json().then(function (st) {
        if (st.result === "running") return true;
        return readLog().then(function () { ended(st); });
      });
    }).catch(function () { return true; }).then(function (again) {
      if (again) setTimeout(tick, 2000);
    });
  }
  tick();
})();
`
