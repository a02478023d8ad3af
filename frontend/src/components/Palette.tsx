import { useReactFlow, type XYPosition } from "@xyflow/react";
import { useMemo, useState, type DragEvent, type KeyboardEvent } from "react";
import { groupByCategory, searchBlocks } from "../catalogue";
import type { BlockNode, PortEdge } from "../graph";
import { useEditor } from "../store";
import type { BlockSpec } from "../types";
import { BLOCK_MIME } from "./Canvas";
import { Icon } from "./Icon";

/** Where a block added by keyboard or double-click lands: the middle of the view, nudged off others. */
function useViewCenter(): () => XYPosition {
  const { screenToFlowPosition } = useReactFlow<BlockNode, PortEdge>();
  return () => {
    const el = document.querySelector(".ed-canvas");
    const r = el?.getBoundingClientRect();
    const p = r
      ? screenToFlowPosition({ x: r.left + r.width / 2, y: r.top + r.height / 2 })
      : { x: 0, y: 0 };
    let pos = { x: Math.round(p.x - 95), y: Math.round(p.y - 40) };
    const nodes = useEditor.getState().nodes;
    for (let i = 0; i < 20 && nodes.some((n) => Math.abs(n.position.x - pos.x) < 30 && Math.abs(n.position.y - pos.y) < 30); i++) {
      pos = { x: pos.x + 30, y: pos.y + 30 };
    }
    return pos;
  };
}

export function Palette() {
  const catalogue = useEditor((s) => s.catalogue)!;
  const readOnly = useEditor((s) => s.readOnly);
  const [query, setQuery] = useState("");
  const [showAll, setShowAll] = useState(false);
  const [open, setOpen] = useState<Record<string, boolean>>({});
  const viewCenter = useViewCenter();

  const searching = query.trim().length > 0;
  const groups = useMemo(() => {
    const list = searching ? searchBlocks(catalogue, query) : showAll ? catalogue.blocks : catalogue.blocks.filter((b) => b.curated);
    return groupByCategory(catalogue, list);
  }, [catalogue, query, searching, showAll]);
  const found = searching ? groups.reduce((k, [, l]) => k + l.length, 0) : 0;

  const add = (block: BlockSpec) => {
    if (readOnly) return;
    const id = useEditor.getState().addNode(block.key, viewCenter());
    if (id) useEditor.getState().showToast(`Added ${block.label}`, "info");
  };

  const isOpen = (category: string) => searching || (open[category] ?? !showAll);

  return (
    <aside className="ed-palette" aria-label="Blocks">
      <div className="ed-palette-search">
        <Icon name="search" size={15} />
        <input
          type="search"
          placeholder={`Search ${catalogue.blocks.length} blocks…`}
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          aria-label="Search blocks"
          data-testid="palette-search"
        />
      </div>
      <div className="ed-palette-list">
        {searching && (
          <div className="ed-palette-note">
            {found ? `${found} block${found === 1 ? "" : "s"} match` : `No block matches “${query}”.`}
          </div>
        )}
        {groups.map(([category, blocks]) => (
          <section key={category} className="ed-palette-group">
            <button
              className="ed-palette-cat"
              onClick={() => setOpen({ ...open, [category]: !isOpen(category) })}
              aria-expanded={isOpen(category)}
            >
              <span className={`ed-chev${isOpen(category) ? " is-open" : ""}`}>
                <Icon name="chevron" size={12} />
              </span>
              <span className="ed-cat-dot" style={{ background: catalogue.categoryColor[category] }} />
              {category}
              <span className="ed-palette-count">{blocks.length}</span>
            </button>
            {isOpen(category) &&
              blocks.map((b) => (
                <PaletteItem key={b.key} block={b} color={catalogue.categoryColor[category]} onAdd={add} readOnly={readOnly} />
              ))}
          </section>
        ))}
      </div>
      {!searching && (
        <label className="ed-palette-foot">
          <input type="checkbox" checked={showAll} onChange={(e) => setShowAll(e.target.checked)} />
          Show all {catalogue.blocks.length} blocks
        </label>
      )}
    </aside>
  );
}

function PaletteItem({
  block,
  color,
  onAdd,
  readOnly,
}: {
  block: BlockSpec;
  color: string;
  onAdd: (b: BlockSpec) => void;
  readOnly: boolean;
}) {
  const onDragStart = (e: DragEvent) => {
    e.dataTransfer.setData(BLOCK_MIME, block.key);
    e.dataTransfer.setData("text/plain", block.key);
    e.dataTransfer.effectAllowed = "copy";
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.key === "Enter") {
      e.preventDefault();
      onAdd(block);
    }
  };
  return (
    <div
      className="ed-palette-item"
      draggable={!readOnly}
      onDragStart={onDragStart}
      onDoubleClick={() => onAdd(block)}
      onKeyDown={onKey}
      tabIndex={0}
      role="button"
      title={`${block.description}\n\n${block.key}${readOnly ? "" : "\nDrag onto the canvas, or double-click to add."}`}
      data-testid={`palette-${block.key}`}
      data-key={block.key}
    >
      <span className="ed-item-bar" style={{ background: color }} />
      <span className="ed-item-text">
        <span className="ed-item-label">{block.label}</span>
        <span className="ed-item-desc">{block.description}</span>
      </span>
    </div>
  );
}
