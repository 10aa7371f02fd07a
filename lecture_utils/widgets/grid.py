"""A picture of equal tiles in rows that says which tile was clicked (an anywidget): the unit
grids of the live explorer and of the atlas browser. ipywidgets' Image reports no clicks."""

import anywidget
from traitlets import Bytes, Int, Unicode

_ESM = r"""
function render({ model, el }) {
  el.classList.add("lu-grid");
  const img = document.createElement("img");
  const mark = document.createElement("div");
  mark.className = "lu-grid-mark";
  el.append(img, mark);
  let url = null;
  function rows() { return Math.ceil(model.get("count") / model.get("columns")); }
  function picture() {
    if (url) URL.revokeObjectURL(url);
    url = URL.createObjectURL(new Blob([model.get("value")], { type: `image/${model.get("format")}` }));
    img.src = url;
    size();
  }
  function size() { img.style.height = `${model.get("height")}px`; place(); }
  function place() {
    const i = model.get("selected"), columns = model.get("columns");
    mark.hidden = i < 0 || !img.clientWidth;
    if (mark.hidden) return;
    const w = img.clientWidth / columns, h = img.clientHeight / rows();
    Object.assign(mark.style, { left: `${(i % columns) * w}px`, top: `${Math.floor(i / columns) * h}px`,
                                width: `${w}px`, height: `${h}px` });
  }
  function click(event) {
    const columns = model.get("columns");
    const col = Math.floor(event.offsetX / (img.clientWidth / columns));
    const row = Math.floor(event.offsetY / (img.clientHeight / rows()));
    const i = row * columns + col;
    if (col < columns && i < model.get("count")) { model.set("selected", i); model.save_changes(); }
  }
  const resized = new ResizeObserver(place);  // a page or slide shown later gives the picture its size
  resized.observe(img);
  img.addEventListener("load", place);
  img.addEventListener("click", click);
  model.on("change:value", picture);
  model.on("change:height", size);
  const layout = ["change:selected", "change:columns", "change:count"];
  layout.forEach(event => model.on(event, place));
  picture();
  return () => {
    resized.disconnect();
    model.off("change:value", picture);
    model.off("change:height", size);
    layout.forEach(event => model.off(event, place));
    if (url) URL.revokeObjectURL(url);
  };
}
export default { render };
"""

_CSS = """
.lu-grid { position: relative; display: inline-block; line-height: 0; }
.lu-grid img { cursor: crosshair; width: auto; max-width: none; margin: 0 !important; }  /* the height sets the size; no slide margins */
.lu-grid-mark { position: absolute; box-sizing: border-box; border: 2px solid #ff2d2d; pointer-events: none; }
"""


class TileGrid(anywidget.AnyWidget):
    """`value`: the picture's bytes (`format` "png" or "jpeg"), `count` tiles in rows of
    `columns`, shown `height` px high; a click on a tile sets `selected` (-1: none), which
    also draws a frame around that tile."""

    _esm = _ESM
    _css = _CSS
    value = Bytes(b"").tag(sync=True)
    format = Unicode("png").tag(sync=True)
    columns = Int(1).tag(sync=True)
    count = Int(0).tag(sync=True)
    height = Int(224).tag(sync=True)
    selected = Int(-1).tag(sync=True)

    def show(self, value, columns, count, height):
        """A new picture of `count` tiles in rows of `columns`, `height` px high, sent to the
        page in one message (a picture with the last one's layout would be drawn wrong)."""
        with self.hold_sync():
            self.value, self.columns, self.count, self.height = value, columns, count, height
