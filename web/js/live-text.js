// A reply's text while it streams: the server's render updates (the finished blocks, then the
// unfinished tail re-rendered) and, after them, the raw text that arrived since the last one.

function applyRender(article, update) {
  const blocks = article.querySelector(".blocks");
  if (blocks.dataset.mode !== "blocks") {
    blocks.replaceChildren();
    blocks.dataset.mode = "blocks";
  }
  // Blocks from `start` on are replaced by the update's blocks (usually: appended).
  while (blocks.children.length > update.start) blocks.lastElementChild.remove();
  for (const html of update.blocks) {
    const block = document.createElement("div");
    block.className = "md-block";
    block.innerHTML = html;
    blocks.append(block);
  }
  article.querySelector(".tail").innerHTML = update.tail;
}

function appendText(article, text) {
  const tail = article.querySelector(".tail");
  let pending = tail.querySelector(".pending");
  if (!pending) {
    pending = document.createElement("span");
    pending.className = "pending";
    const last = tail.lastElementChild;
    (last && /^(P|LI|H[1-6])$/.test(last.tagName) ? last : tail).append(pending);
  }
  pending.append(text);
}

/** Shows one streaming reply's text in `article`, as `delta` and `render` events arrive. */
export function liveText(article) {
  // The whitespace the text so far ends with. A render covers every delta before it, but
  // markdown drops a paragraph's trailing whitespace: without it put back, the next delta's
  // word would be shown glued to the last one ("tok18tok19").
  let spaceAtEnd = "";
  return {
    append(text) {
      appendText(article, text);
      const space = /\s*$/.exec(text)[0];
      spaceAtEnd = space.length === text.length ? spaceAtEnd + text : space;
    },
    render(update) {
      applyRender(article, update);
      if (spaceAtEnd) appendText(article, spaceAtEnd);
    },
  };
}
