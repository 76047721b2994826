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
  const colours = [...doc.querySelectorAll(".body > p, td, aside p")].map(e => win.getComputedStyle(e).color);
  return {
    body, root: size(doc.documentElement), cells: doc.querySelectorAll("td, th").length, cut,
    notes, targets, figures, colours: [...new Set(colours)],
    background: win.getComputedStyle(doc.body).backgroundColor,
    // Each aligned or numeric cell as the source's alignment (else right, for a number) wants it.
    aligned: [...doc.querySelectorAll("td.num, td[class*=align-]")].map(cell => {
      const wanted = (/align-(left|center|right)/.exec(cell.className) || [null, "right"])[1];
      const found = win.getComputedStyle(cell).textAlign;
      return wanted === found ? "as written" : `${wanted}, shown ${found}`;
    }).filter((value, index, all) => all.indexOf(value) === index),
  };
}
