import { Handle, Position, type NodeProps } from "@xyflow/react";
import { memo, useState, type KeyboardEvent } from "react";
import type { BlockNode } from "../graph";
import { formatMetric } from "../format";
import { useEditor } from "../store";
import type { PortSpec, StepRun } from "../types";

export function stepBadge(step: StepRun | undefined): { label: string; cls: string } | null {
  if (!step) return null;
  if (step.status === "succeeded" && step.cache_hit) return { label: "cached", cls: "cached" };
  return { label: step.status, cls: step.status };
}

function PortHandle({
  port,
  side,
  color,
  connectable,
}: {
  port: PortSpec;
  side: "in" | "out";
  color: string;
  connectable: boolean;
}) {
  const title = `${port.name} (${port.type}${side === "in" && !port.required ? ", optional" : ""})${
    port.description ? ` — ${port.description}` : ""
  }`;
  return (
    <div className={`ed-port ed-port--${side}`} title={title}>
      <Handle
        type={side === "in" ? "target" : "source"}
        position={side === "in" ? Position.Left : Position.Right}
        id={port.name}
        isConnectable={connectable}
        className="ed-handle"
        style={{ background: color, borderColor: color }}
        data-port={port.name}
        data-port-type={port.type}
      />
      <span className="ed-port-name">{port.name}</span>
    </div>
  );
}

function BlockNodeImpl({ id, data, selected, isConnectable }: NodeProps<BlockNode>) {
  const block = useEditor((s) => s.catalogue?.byKey[data.block]);
  const categoryColor = useEditor((s) => (block ? s.catalogue!.categoryColor[block.category] : "#98a2b3"));
  const portColor = useEditor((s) => s.catalogue?.portColor);
  const step = useEditor((s) => s.steps[id]);
  const errors = useEditor((s) => s.errors[id]);
  const readOnly = useEditor((s) => s.readOnly);
  const [editing, setEditing] = useState(false);

  const title = data.label || block?.label || data.block;
  const badge = stepBadge(step);
  const headline = step?.summary?.metrics?.headline;
  const hasErrors = !!errors?.length || step?.status === "failed";
  const rows = Math.max(block?.inputs.length ?? 0, block?.outputs.length ?? 0);

  const commit = (value: string) => {
    setEditing(false);
    if (value.trim() !== (data.label ?? "")) useEditor.getState().renameNode(id, value);
  };
  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === "Enter") commit(e.currentTarget.value);
    if (e.key === "Escape") setEditing(false);
    e.stopPropagation();
  };

  return (
    <div
      className={`ed-node${badge ? ` ed-node--${badge.cls}` : ""}${selected ? " is-selected" : ""}${
        hasErrors ? " has-errors" : ""
      }${step?.status === "running" ? " is-running" : ""}`}
      style={{ ["--cat" as string]: categoryColor }}
      data-testid={`node-${id}`}
      data-block={data.block}
      data-status={badge?.label ?? ""}
    >
      <div className="ed-node-head">
        <div className="ed-node-titles">
          {editing ? (
            <input
              className="ed-node-rename nodrag"
              defaultValue={data.label ?? block?.label ?? ""}
              autoFocus
              onBlur={(e) => commit(e.currentTarget.value)}
              onKeyDown={onKey}
              aria-label="Block name"
            />
          ) : (
            <div
              className="ed-node-title"
              title={readOnly ? title : `${title} — double-click to rename`}
              onDoubleClick={() => !readOnly && setEditing(true)}
            >
              {title}
            </div>
          )}
          <div className="ed-node-sub">
            {block ? (data.label ? block.label : block.category) : "unknown block"}
            <span className="ed-node-id"> · {id}</span>
          </div>
        </div>
      </div>
      {rows > 0 && block && portColor && (
        <div className="ed-node-ports">
          {Array.from({ length: rows }, (_, i) => (
            <div className="ed-port-row" key={i}>
              {block.inputs[i] ? (
                <PortHandle
                  port={block.inputs[i]}
                  side="in"
                  color={portColor[block.inputs[i].type]}
                  connectable={isConnectable}
                />
              ) : (
                <span />
              )}
              {block.outputs[i] ? (
                <PortHandle
                  port={block.outputs[i]}
                  side="out"
                  color={portColor[block.outputs[i].type]}
                  connectable={isConnectable}
                />
              ) : (
                <span />
              )}
            </div>
          ))}
        </div>
      )}
      {badge && (
        <div className="ed-node-foot">
          <span className={`ed-badge ed-badge--${badge.cls}`} data-testid="node-status">
            <span className="ed-badge-dot" />
            {badge.label}
          </span>
          {headline && (
            <span className="ed-node-metric" data-testid="node-headline">
              <span className="ed-node-metric-name">{headline.name}</span>{" "}
              <span className="ed-node-metric-value">{formatMetric(headline.value)}</span>
            </span>
          )}
        </div>
      )}
      {data.cache === "always_rerun" && <div className="ed-node-note">always re-runs</div>}
      {!!errors?.length && (
        <div className="ed-node-errors" data-testid="node-errors">
          {errors.slice(0, 3).map((m) => (
            <div key={m}>{m}</div>
          ))}
          {errors.length > 3 && <div>+{errors.length - 3} more</div>}
        </div>
      )}
      {!errors?.length && step?.status === "failed" && step.error && (
        <div className="ed-node-errors">{step.error.length > 140 ? `${step.error.slice(0, 140)}…` : step.error}</div>
      )}
    </div>
  );
}

export const BlockNodeView = memo(BlockNodeImpl);

// Module-level so React Flow never sees a new object (it would remount nodes).
// The editor canvas and the run page's read-only graph both use it.
export const nodeTypes = { block: BlockNodeView };
