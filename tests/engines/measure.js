// What a reader sees of the chapter epub.js shows: run in the test page, reads the iframe.
// Pages are the columns epub.js lays the chapter out in; a box is seen whole only when it
// lies inside one column's text area and the page's height.
() => {
  const contents = rendition.getContents()[0];
  const win = contents.window, doc = contents.document, layout = rendition.manager.layout;
  const delta = layout.delta, gap = layout.gap, height = layout.height;
  const px = value => parseFloat(value);
  const size = element => px(win.getComputedStyle(element).fontSize);
  const seen = rect => {
    if (rect.width < 1 || rect.height < 1) return true;  // (nothing drawn)
    const column = Math.floor((rect.left + 1) / delta);
    return rect.left >= column * delta + gap / 2 - 1 && rect.right <= (column + 1) * delta - gap / 2 + 1
      && rect.top >= -1 && rect.bottom <= height + 1;
  };
  const hidden = element => {  // visually hidden (a header row shown as labels instead)
    for (let e = element; e && e !== doc.body; e = e.parentElement) {
      const rect = e.getBoundingClientRect();
      if (rect.width <= 1 || rect.height <= 1) return true;
    }
    return false;
  };
  const label = element => (element.textContent || "").trim().replace(/\s+/g, " ").slice(0, 40);
  const cut = [];
  for (const cell of doc.querySelectorAll("td, th")) {
    if (hidden(cell)) continue;
    const range = doc.createRange();
    range.selectNodeContents(cell);
    const rects = [...cell.getClientRects(), ...range.getClientRects()];
    if (!rects.every(seen)) cut.push(label(cell));
  }
  const paragraph = doc.querySelector(".body > p");
  const body = size(paragraph);
  const notes = [...doc.querySelectorAll("aside[role=doc-footnote]")].map(aside => ({
    text: (aside.innerText || "").trim().slice(0, 12),
    ratio: size(aside.querySelector("p") || aside) / body,
  }));
  const targets = [...doc.querySelectorAll("a[role=doc-noteref], a[role=doc-backlink]")].map(link => {
    const rect = link.getBoundingClientRect();
    return { role: link.getAttribute("role"), width: rect.width, height: rect.height };
  });
  const figures = [...doc.querySelectorAll("figure")].map(figure => {
    const caption = figure.querySelector("figcaption");
    const boxes = [...figure.querySelectorAll("img, figcaption")].map(e => e.getBoundingClientRect());
    return { caption: caption ? caption.innerText.trim() : "", seen: boxes.every(seen),
             alt: (figure.querySelector("img") || {}).alt || "" };
  });
  // A table's header row must share its page with the first row after it; where the table
  // runs on over several pages, count the pages its header is drawn on (repeated, or not).
  const columnOf = rect => Math.floor((rect.left + 1) / delta);
  const heads = [...doc.querySelectorAll("thead")].filter(head => !hidden(head)).map(head => {
    const row = head.parentElement.querySelector("tbody tr");
    const pages = rows => new Set([...rows].map(columnOf)).size;
    return { alone: row !== null && columnOf(head.getClientRects()[0]) !== columnOf(row.getClientRects()[0]),
             pages: pages(head.parentElement.getClientRects()), drawn: pages(head.getClientRects()) };
  });
  // Text set smaller than the body's, outside notes, superscripts and the cover.
  const smaller = new Set();
  for (const element of doc.body.querySelectorAll("*")) {
    const own = [...element.childNodes].some(node => node.nodeType === 3 && node.textContent.trim());
    if (own && !hidden(element) && !element.closest("sup, sub, .footnotes") && size(element) < 0.99 * body)
      smaller.add(`${element.localName}${element.className ? "." + element.className.split(" ")[0] : ""}`);
  }
  const colours = [...doc.querySelectorAll(".body > p, td, aside p")].map(e => win.getComputedStyle(e).color);
  return {
    body, root: size(doc.documentElement), cells: doc.querySelectorAll("td, th").length, cut,
    notes, targets, figures, colours: [...new Set(colours)], heads, smaller: [...smaller],
    background: win.getComputedStyle(doc.body).backgroundColor,
    // Each aligned or numeric cell as the source's alignment (else right, for a number) wants it.
    aligned: [...doc.querySelectorAll("td.num, td[class*=align-]")].map(cell => {
      const wanted = (/align-(left|center|right)/.exec(cell.className) || [null, "right"])[1];
      const found = win.getComputedStyle(cell).textAlign;
      return wanted === found ? "as written" : `${wanted}, shown ${found}`;
    }).filter((value, index, all) => all.indexOf(value) === index),
  };
}
