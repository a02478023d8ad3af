import { selectSelectedCount, selectSelectedId, useEditor } from "../store";
import { stepBadge } from "./BlockNode";
import { Icon } from "./Icon";
import { OutputsView } from "./OutputsView";
import { ParamsForm } from "./ParamsForm";
import { formatMetric } from "../format";

export function Inspector() {
  const selectedId = useEditor(selectSelectedId);
  const count = useEditor(selectSelectedCount);
  return (
    <aside className="ed-inspector" aria-label="Inspector" data-testid="inspector">
      {selectedId ? <NodeInspector key={selectedId} id={selectedId} /> : count > 1 ? <MultiSelection count={count} /> : <PipelineSummary />}
    </aside>
  );
}

function MultiSelection({ count }: { count: number }) {
  const readOnly = useEditor((s) => s.readOnly);
  return (
    <div className="ed-insp-pad">
      <h2 className="ed-insp-title">{count} blocks selected</h2>
      <p className="ed-muted">Drag to move them together, Ctrl+C / Ctrl+V to duplicate.</p>
      {!readOnly && (
        <button className="ed-btn ed-btn-danger-outline" onClick={() => useEditor.getState().deleteSelection()}>
          <Icon name="trash" /> Delete {count} blocks
        </button>
      )}
    </div>
  );
}

function PipelineSummary() {
  const nodes = useEditor((s) => s.nodes.length);
  const edges = useEditor((s) => s.edges.length);
  const run = useEditor((s) => s.run);
  const errorCount = useEditor((s) => Object.values(s.errors).reduce((k, l) => k + l.length, 0));
  return (
    <div className="ed-insp-pad">
      <h2 className="ed-insp-title">Pipeline</h2>
      <dl className="ed-facts">
        <dt>Blocks</dt>
        <dd>{nodes}</dd>
        <dt>Connections</dt>
        <dd>{edges}</dd>
        {run && (
          <>
            <dt>Last run</dt>
            <dd>
              <a href={`/runs/${run.id}/`}>#{run.id}</a> · {run.status}
              {run.headline ? ` · ${run.headline.name} ${formatMetric(run.headline.value)}` : ""}
            </dd>
          </>
        )}
        {errorCount > 0 && (
          <>
            <dt>Problems</dt>
            <dd className="ed-error-text">{errorCount} — marked in red on the canvas</dd>
          </>
        )}
      </dl>
      <div className="ed-tips">
        <h3>Tips</h3>
        <ul>
          <li>Click a block to edit its parameters and see its outputs.</li>
          <li>Drag from an output (right) to an input (left) of the same colour to connect.</li>
          <li>Shift-drag on the canvas to select several blocks.</li>
          <li>
            Press <kbd>?</kbd> for all shortcuts.
          </li>
        </ul>
      </div>
    </div>
  );
}

function NodeInspector({ id }: { id: string }) {
  const node = useEditor((s) => s.nodes.find((n) => n.id === id));
  const block = useEditor((s) => (node ? s.catalogue?.byKey[node.data.block] : undefined));
  const color = useEditor((s) => (block ? s.catalogue!.categoryColor[block.category] : "#98a2b3"));
  const tab = useEditor((s) => s.tab);
  const step = useEditor((s) => s.steps[id]);
  const errorCount = useEditor((s) => s.errors[id]?.length ?? 0);
  const readOnly = useEditor((s) => s.readOnly);
  if (!node) return null;
  const badge = stepBadge(step);
  const setTab = useEditor.getState().setTab;
  return (
    <div className="ed-insp-node">
      <div className="ed-insp-head" style={{ ["--cat" as string]: color }}>
        <div className="ed-insp-cat">{block?.category ?? "Unknown block"}</div>
        <input
          className="ed-insp-name"
          value={node.data.label ?? ""}
          placeholder={block?.label ?? node.data.block}
          onChange={(e) => useEditor.getState().renameNode(id, e.target.value)}
          readOnly={readOnly}
          aria-label="Block name"
          title="Rename this block"
        />
        <div className="ed-insp-key" title={block?.description}>
          <code>{node.data.block}</code>
          <br />
          id <code>{id}</code>
        </div>
      </div>
      <div className="ed-insp-tabs" role="tablist">
        <button role="tab" aria-selected={tab === "params"} className={tab === "params" ? "is-active" : ""} onClick={() => setTab("params")}>
          Parameters
          {errorCount > 0 && <span className="ed-tab-err">{errorCount}</span>}
        </button>
        <button
          role="tab"
          aria-selected={tab === "outputs"}
          className={tab === "outputs" ? "is-active" : ""}
          onClick={() => setTab("outputs")}
          data-testid="outputs-tab"
        >
          Outputs
          {badge && <span className={`ed-tab-dot ed-tab-dot--${badge.cls}`} title={badge.label} />}
        </button>
      </div>
      <div className="ed-insp-body">
        {!block ? (
          <div className="ed-insp-pad ed-error-text">
            This block ({node.data.block}) is not in the catalogue. Delete it or import a graph that uses known blocks.
          </div>
        ) : tab === "params" ? (
          <ParamsForm id={id} block={block} />
        ) : (
          <OutputsView id={id} />
        )}
      </div>
    </div>
  );
}
