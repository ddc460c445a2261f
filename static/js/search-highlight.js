/* A search hit opens its page with ?markiert=Wort (the words the search found in that text, as written).
   This marks them in the page's main content and brings the first one after the hit's anchor into view.
   Without the script the page still opens at the anchor; nothing else depends on it. */
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.search);
  var words = params.getAll("markiert").filter(function (w) { return w && w.length < 100; });
  if (!words.length) { return; }
  function escape(word) { return word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }
  // Whole words only, in any case: the server sends the exact words it found.
  var pattern = new RegExp("(^|[^\\p{L}\\p{N}])(" + words.map(escape).join("|") + ")(?=$|[^\\p{L}\\p{N}])", "giu");
  var SKIP = { SCRIPT: 1, STYLE: 1, TEXTAREA: 1, INPUT: 1, SELECT: 1, OPTION: 1, MARK: 1, TEMPLATE: 1 };

  function mark(root) {
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
      acceptNode: function (node) {
        for (var el = node.parentNode; el && el !== root; el = el.parentNode) {
          if (SKIP[el.nodeName]) { return NodeFilter.FILTER_REJECT; }
        }
        pattern.lastIndex = 0;
        return pattern.test(node.nodeValue) ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT;
      }
    });
    var nodes = [];
    while (walker.nextNode()) { nodes.push(walker.currentNode); }
    nodes.forEach(function (node) {
      var text = node.nodeValue, last = 0, fragment = document.createDocumentFragment(), match;
      pattern.lastIndex = 0;
      while ((match = pattern.exec(text)) !== null) {
        var start = match.index + match[1].length;
        fragment.appendChild(document.createTextNode(text.slice(last, start)));
        var highlighted = document.createElement("mark");
        highlighted.className = "search-mark";
        highlighted.textContent = match[2];
        fragment.appendChild(highlighted);
        last = start + match[2].length;
      }
      fragment.appendChild(document.createTextNode(text.slice(last)));
      node.parentNode.replaceChild(fragment, node);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var main = document.getElementById("main");
    if (!main) { return; }
    mark(main);
    var anchor = window.location.hash ? document.getElementById(decodeURIComponent(window.location.hash.slice(1))) : null;
    var marks = main.querySelectorAll("mark.search-mark");
    var first = null;
    for (var i = 0; i < marks.length; i++) {
      if (!anchor || anchor.compareDocumentPosition(marks[i]) & Node.DOCUMENT_POSITION_FOLLOWING || anchor.contains(marks[i])) {
        first = marks[i];
        break;
      }
    }
    if (first) {
      first.classList.add("search-mark--first");
      first.scrollIntoView({ block: "center" });
    }
  });
})();
