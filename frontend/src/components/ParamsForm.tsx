import { useEffect, useMemo, useState, type ReactNode } from "react";
import { useShallow } from "zustand/react/shallow";
import { inputColumns } from "../columns";
import { boundsText, branchFor, checkField, displayValue, fieldModel, initialValue, splitErrors, type Branch } from "../params";
import { datasetNameOf, datasetSeries, resolveDataset } from "../datasets";
import { loadConnections, loadDatasets } from "../remote";
import { useEditor } from "../store";
import type { BlockSpec, ColumnInfo, Connection, Dataset, JsonSchema, JsonValue } from "../types";

/** Params drawn by a block-specific control instead of the generic one. */
const UPLOAD_PARAMS = ["dataset", "version"];

const EMPTY: Record<string, JsonValue> = {};

export function ParamsForm({ id, block }: { id: string; block: BlockSpec }) {
  const params = useEditor((s) => s.nodes.find((n) => n.id === id)?.data.params ?? EMPTY);
  const cache = useEditor((s) => s.nodes.find((n) => n.id === id)?.data.cache);
  const errors = useEditor((s) => s.errors[id]);
  const readOnly = useEditor((s) => s.readOnly);
  const datasets = useEditor((s) => s.datasets);
  const connections = useEditor((s) => s.connections);
  const isUpload = block.key === "dataset.upload";
  const needsDatasets = isUpload || block.column_params.length > 0;
  const needsConnections = block.key === "dataset.sql";
  const columns = useEditor(
    useShallow((s) => (block.column_params.length ? inputColumns(id, s) ?? null : null)),
  );

  useEffect(() => {
    if (needsDatasets && datasets === null) void loadDatasets();
  }, [needsDatasets, datasets]);
  useEffect(() => {
    if (needsConnections && connections === null) void loadConnections();
  }, [needsConnections, connections]);

  const properties = Object.entries(block.params_schema?.properties ?? {});
  const required = block.params_schema?.required ?? [];
  const { byParam, other } = splitErrors(errors ?? [], properties.map(([n]) => n));

  return (
    <div className="ed-params" data-testid="params-form">
      {block.description && <p className="ed-block-desc">{block.description}</p>}
      {other.length > 0 && (
        <div className="ed-field-errors ed-node-level-errors" role="alert">
          {other.map((m) => (
            <div key={m}>{m}</div>
          ))}
        </div>
      )}
      {properties.length === 0 && <p className="ed-muted">This block has no parameters.</p>}
      {isUpload && (
        <DatasetUploadFields nodeId={id} params={params} byParam={byParam} readOnly={readOnly} datasets={datasets} />
      )}
      {properties.filter(([name]) => !(isUpload && UPLOAD_PARAMS.includes(name))).map(([name, schema]) => (
        <ParamField
          key={name}
          nodeId={id}
          name={name}
          schema={schema}
          required={required.includes(name)}
          isSet={Object.prototype.hasOwnProperty.call(params, name)}
          value={params[name]}
          serverErrors={byParam[name] ?? []}
          readOnly={readOnly}
          columns={block.column_params.includes(name) ? columns : undefined}
          connections={needsConnections && name === "connection" ? connections : undefined}
        />
      ))}
      <label className="ed-check-row" title="Run this block every time, even when its inputs and parameters are unchanged">
        <input
          type="checkbox"
          checked={cache === "always_rerun"}
          disabled={readOnly}
          onChange={(e) => useEditor.getState().setNodeCache(id, e.target.checked)}
        />
        Always re-run (skip the cache)
      </label>
    </div>
  );
}

function branchLabel(b: Branch): string {
  if (b.kind === "enum") {
    const text = b.options.map((o) => String(o)).join(" / ");
    return text.length > 28 ? `${text.slice(0, 26)}…` : text;
  }
  // "integer: 2 ≤ value" next to "number: 0 < value ≤ 1" tells the alternatives apart.
  const range = b.kind === "integer" || b.kind === "number" ? boundsText(b.schema) : "";
  return range ? `${b.label}: ${range}` : b.label;
}

interface FieldProps {
  nodeId: string;
  name: string;
  schema: JsonSchema;
  required: boolean;
  isSet: boolean;
  value: JsonValue | undefined;
  serverErrors: string[];
  readOnly: boolean;
  /** undefined: not a column param; null: a column param whose columns are unknown. */
  columns?: ColumnInfo[] | null;
  /** undefined: not a connection param; null: still loading. */
  connections?: Connection[] | null;
}

function ParamField(props: FieldProps) {
  const { nodeId, name, schema, required, isSet, value, serverErrors, readOnly, columns, connections } = props;
  const model = useMemo(() => fieldModel(schema), [schema]);
  const [picked, setPicked] = useState<number | null>(null);
  const def = schema.default;
  const effective = isSet ? value : def;
  const isNull = effective === null;
  const active = branchFor(model, effective);
  const branchIdx = active >= 0 ? active : picked ?? 0;
  const branch: Branch | undefined = model.branches[branchIdx];
  const set = (v: JsonValue | undefined) => useEditor.getState().updateParam(nodeId, name, v);
  const localError = isSet && branch && value !== null && value !== undefined ? checkField(model, branch, value) : null;
  const messages = [...(localError ? [localError] : []), ...serverErrors.filter((m) => !localError || !m.startsWith(localError))];
  const fieldId = `param-${nodeId}-${name}`;
  const title = schema.title || name;

  const firstValue = (b: Branch): JsonValue => {
    if (columns?.length && b.kind === "string") {
      return columns.some((c) => c.name === "target") ? "target" : columns[0].name;
    }
    return initialValue(b, def ?? undefined);
  };

  const onNone = (checked: boolean) => {
    if (checked) set(def === null ? undefined : null);
    else if (branch) set(firstValue(branch));
  };

  const onBranch = (idx: number) => {
    setPicked(idx);
    set(firstValue(model.branches[idx]));
  };

  const disabled = readOnly || isNull;
  let control: ReactNode = null;
  if (branch) {
    if (connections !== undefined && branch.kind === "string") {
      control = <ConnectionSelect id={fieldId} value={effective} connections={connections} disabled={disabled} onChange={set} />;
    } else if (columns && branch.kind === "json" && branch.label === "array") {
      control = <ColumnsInput id={fieldId} value={effective} def={def} columns={columns} disabled={disabled} onChange={set} />;
    } else if (columns !== undefined && branch.kind === "string") {
      control = (
        <ColumnInput id={fieldId} value={isSet ? effective : undefined} def={def} columns={columns} disabled={disabled} onChange={set} />
      );
    } else {
      control = <Control id={fieldId} branch={branch} isSet={isSet} value={effective} def={def} disabled={disabled} onChange={set} />;
    }
  }

  const hint = branch && (branch.kind === "number" || branch.kind === "integer") ? boundsText(branch.schema) : "";

  return (
    <div className={`ed-field${messages.length ? " has-error" : ""}`} data-testid={`field-${name}`} data-param={name}>
      <div className="ed-field-head">
        <label htmlFor={fieldId} className="ed-field-label" title={name}>
          {title}
          {required && <span className="ed-required" title="required"> *</span>}
        </label>
        <div className="ed-field-tools">
          {model.nullable && (
            <label className="ed-none" title="Set this parameter to None">
              <input type="checkbox" checked={isNull} disabled={readOnly} onChange={(e) => onNone(e.target.checked)} />
              none
            </label>
          )}
          {isSet && !readOnly && def !== undefined && (
            <button className="ed-link-btn" onClick={() => (setPicked(null), set(undefined))} title={`Back to the default (${displayValue(def)})`}>
              reset
            </button>
          )}
        </div>
      </div>
      {model.branches.length > 1 && !isNull && (
        <select
          className="ed-branch"
          value={branchIdx}
          disabled={readOnly}
          onChange={(e) => onBranch(Number(e.target.value))}
          aria-label={`${title}: kind of value`}
        >
          {model.branches.map((b, i) => (
            <option key={i} value={i}>
              {branchLabel(b)}
            </option>
          ))}
        </select>
      )}
      {!isNull && control}
      {isNull && <div className="ed-null-value">None</div>}
      {messages.length > 0 && (
        <div className="ed-field-errors" data-testid="field-error">
          {messages.map((m) => (
            <div key={m}>{m}</div>
          ))}
        </div>
      )}
      {(schema.description || hint) && (
        <div className="ed-help">
          {schema.description}
          {hint && <span className="ed-bounds"> {hint}</span>}
        </div>
      )}
    </div>
  );
}

function Control({
  id,
  branch,
  isSet,
  value,
  def,
  disabled,
  onChange,
}: {
  id: string;
  branch: Branch;
  isSet: boolean;
  value: JsonValue | undefined;
  def: JsonValue | undefined;
  disabled: boolean;
  onChange: (v: JsonValue | undefined) => void;
}) {
  switch (branch.kind) {
    case "enum": {
      const defIndex = branch.options.findIndex((o) => o === def);
      const showDefault = !isSet && defIndex >= 0;
      return (
        <select
          id={id}
          value={isSet ? String(value) : ""}
          disabled={disabled}
          onChange={(e) => onChange(e.target.value === "" ? undefined : branch.options.find((o) => String(o) === e.target.value))}
        >
          {showDefault && <option value="">{String(def)} (default)</option>}
          {!isSet && !showDefault && (
            <option value="" disabled>
              Choose…
            </option>
          )}
          {branch.options.map((o, i) =>
            showDefault && i === defIndex ? null : (
              <option key={i} value={String(o)}>
                {String(o)}
              </option>
            ),
          )}
        </select>
      );
    }
    case "boolean":
      return (
        <label className="ed-switch">
          <input id={id} type="checkbox" checked={value === true} disabled={disabled} onChange={(e) => onChange(e.target.checked)} />
          <span className="ed-switch-track" />
          <span className="ed-switch-text">{value === true ? "on" : "off"}</span>
        </label>
      );
    case "integer":
    case "number":
      return (
        <NumberInput
          id={id}
          integer={branch.kind === "integer"}
          schema={branch.schema}
          value={isSet && typeof value === "number" ? value : undefined}
          placeholder={typeof def === "number" ? String(def) : ""}
          disabled={disabled}
          onChange={onChange}
        />
      );
    case "string":
      return (
        <input
          id={id}
          type="text"
          value={isSet && typeof value === "string" ? value : ""}
          placeholder={typeof def === "string" ? def : ""}
          disabled={disabled}
          onChange={(e) => onChange(e.target.value === "" && typeof def === "string" ? undefined : e.target.value)}
        />
      );
    case "json":
      return <JsonInput id={id} value={isSet ? value : undefined} def={def} disabled={disabled} onChange={onChange} />;
  }
}

function NumberInput({
  id,
  integer,
  schema,
  value,
  placeholder,
  disabled,
  onChange,
}: {
  id: string;
  integer: boolean;
  schema: JsonSchema;
  value: number | undefined;
  placeholder: string;
  disabled: boolean;
  onChange: (v: JsonValue | undefined) => void;
}) {
  const [text, setText] = useState(value === undefined ? "" : String(value));
  const [focused, setFocused] = useState(false);
  useEffect(() => {
    if (!focused) setText(value === undefined ? "" : String(value));
  }, [value, focused]);
  const min = schema.minimum ?? schema.exclusiveMinimum;
  const max = schema.maximum ?? schema.exclusiveMaximum;
  return (
    <input
      id={id}
      type="number"
      inputMode={integer ? "numeric" : "decimal"}
      step={integer ? 1 : "any"}
      min={min}
      max={max !== undefined && max < 1e9 ? max : undefined}
      value={text}
      placeholder={placeholder}
      disabled={disabled}
      onFocus={() => setFocused(true)}
      onBlur={() => setFocused(false)}
      onChange={(e) => {
        const t = e.target.value;
        setText(t);
        if (t.trim() === "") onChange(undefined);
        else if (Number.isFinite(Number(t))) onChange(Number(t));
      }}
    />
  );
}

function JsonInput({
  id,
  value,
  def,
  disabled,
  onChange,
}: {
  id: string;
  value: JsonValue | undefined;
  def: JsonValue | undefined;
  disabled: boolean;
  onChange: (v: JsonValue | undefined) => void;
}) {
  const [text, setText] = useState(value === undefined ? "" : JSON.stringify(value));
  const [bad, setBad] = useState(false);
  return (
    <>
      <input
        id={id}
        type="text"
        className="ed-mono"
        value={text}
        placeholder={def === undefined ? "JSON value" : JSON.stringify(def)}
        disabled={disabled}
        onChange={(e) => setText(e.target.value)}
        onBlur={() => {
          if (text.trim() === "") return (setBad(false), onChange(undefined));
          try {
            onChange(JSON.parse(text) as JsonValue);
            setBad(false);
          } catch {
            setBad(true);
          }
        }}
      />
      {bad && <div className="ed-field-errors">not valid JSON</div>}
    </>
  );
}

function ColumnInput({
  id,
  value,
  def,
  columns,
  disabled,
  onChange,
}: {
  id: string;
  value: JsonValue | undefined;
  def: JsonValue | undefined;
  columns: ColumnInfo[] | null;
  disabled: boolean;
  onChange: (v: JsonValue | undefined) => void;
}) {
  if (!columns) {
    return (
      <>
        <input
          id={id}
          type="text"
          value={typeof value === "string" ? value : ""}
          placeholder={typeof def === "string" ? def : "column name"}
          disabled={disabled}
          onChange={(e) => onChange(e.target.value === "" && typeof def === "string" ? undefined : e.target.value)}
        />
        <div className="ed-help ed-help-soft">Connect a table and run once to pick from its columns.</div>
      </>
    );
  }
  const current = typeof value === "string" ? value : undefined;
  const missing = current !== undefined && !columns.some((c) => c.name === current);
  return (
    <select id={id} value={current ?? ""} disabled={disabled} onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)}>
      <option value="">{typeof def === "string" ? `${def} (default)` : "Choose a column…"}</option>
      {missing && <option value={current}>{current} (not in the input table)</option>}
      {columns.map((c) => (
        <option key={c.name} value={c.name}>
          {c.name} · {c.dtype}
        </option>
      ))}
    </select>
  );
}

/** A list of column names (prep.columns groups, model.train exclude …) as checkboxes. */
function ColumnsInput({
  id,
  value,
  def,
  columns,
  disabled,
  onChange,
}: {
  id: string;
  value: JsonValue | undefined;
  def: JsonValue | undefined;
  columns: ColumnInfo[];
  disabled: boolean;
  onChange: (v: JsonValue | undefined) => void;
}) {
  const picked = Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
  const unknown = picked.filter((name) => !columns.some((c) => c.name === name));
  const toggle = (name: string, on: boolean) => {
    const next = on ? [...picked, name] : picked.filter((p) => p !== name);
    onChange(JSON.stringify(next) === JSON.stringify(def) ? undefined : next);
  };
  return (
    <div id={id} role="group" className="ed-column-list" style={{ maxHeight: "10rem", overflowY: "auto" }}>
      {[...columns.map((c) => ({ name: c.name, note: c.dtype })), ...unknown.map((name) => ({ name, note: "not in the input table" }))].map(
        ({ name, note }) => (
          <label key={name} className="ed-small" style={{ display: "block" }}>
            <input type="checkbox" checked={picked.includes(name)} disabled={disabled} onChange={(e) => toggle(name, e.target.checked)} /> {name}{" "}
            <span className="ed-muted">· {note}</span>
          </label>
        ),
      )}
    </div>
  );
}

/** A `dataset.upload` node: which dataset (by name), and which version: the latest at run time or a pinned one. */
function DatasetUploadFields({
  nodeId,
  params,
  byParam,
  readOnly,
  datasets,
}: {
  nodeId: string;
  params: Record<string, JsonValue>;
  byParam: Record<string, string[]>;
  readOnly: boolean;
  datasets: Dataset[] | null;
}) {
  const series = useMemo(() => datasetSeries(datasets ?? []), [datasets]);
  const set = (name: string, v: JsonValue | undefined) => useEditor.getState().updateParam(nodeId, name, v);
  const ref = params.dataset;
  const pinned = typeof params.version === "number" ? params.version : null;
  const name = datasets ? datasetNameOf(datasets, ref) : null;
  const versions = name ? series.get(name) ?? [] : [];
  const latest = versions[0];
  const loaded = datasets ? resolveDataset(datasets, ref, pinned) : null;

  const pickName = (next: string) => {
    set("dataset", next || undefined);
    if (pinned !== null && !(series.get(next) ?? []).some((d) => d.version === pinned)) set("version", undefined);
  };

  const errors = (param: string) =>
    (byParam[param] ?? []).length > 0 && (
      <div className="ed-field-errors" data-testid="field-error">
        {byParam[param].map((m) => (
          <div key={m}>{m}</div>
        ))}
      </div>
    );

  if (datasets === null) return <div className="ed-muted ed-small">Loading datasets…</div>;
  return (
    <>
      <div className={`ed-field${byParam.dataset?.length ? " has-error" : ""}`} data-testid="field-dataset" data-param="dataset">
        <div className="ed-field-head">
          <label htmlFor={`param-${nodeId}-dataset`} className="ed-field-label" title="dataset">
            Dataset<span className="ed-required" title="required"> *</span>
          </label>
        </div>
        <select id={`param-${nodeId}-dataset`} value={name ?? (typeof ref === "string" ? ref : "")} disabled={readOnly} onChange={(e) => pickName(e.target.value)}>
          <option value="">{series.size ? "Choose an uploaded dataset…" : "No datasets uploaded yet"}</option>
          {typeof ref === "string" && ref && name === null && <option value={ref}>{ref.length === 64 ? `${ref.slice(0, 12)}…` : ref} (not found)</option>}
          {[...series].map(([n, list]) => (
            <option key={n} value={n}>
              {n} · {list.length === 1 ? "1 version" : `${list.length} versions`}
            </option>
          ))}
        </select>
        {errors("dataset")}
        <div className="ed-help">
          {series.size ? (
            <>
              Datasets of this pipeline's workspace; rename or delete them on the{" "}
              <a href="/datasets/" target="_blank" rel="noreferrer">
                Datasets page
              </a>
              .
            </>
          ) : (
            <>
              No datasets yet:{" "}
              <a href="/datasets/" target="_blank" rel="noreferrer">
                upload a CSV or Parquet file
              </a>{" "}
              on the Datasets page.
            </>
          )}
        </div>
      </div>
      <div className={`ed-field${byParam.version?.length ? " has-error" : ""}`} data-testid="field-version" data-param="version">
        <div className="ed-field-head">
          <label htmlFor={`param-${nodeId}-version`} className="ed-field-label" title="version">
            Version
          </label>
        </div>
        <select
          id={`param-${nodeId}-version`}
          value={pinned === null ? "latest" : String(pinned)}
          disabled={readOnly || name === null}
          onChange={(e) => set("version", e.target.value === "latest" ? undefined : Number(e.target.value))}
        >
          <option value="latest">{latest ? `Latest (now v${latest.version})` : "Latest"}</option>
          {pinned !== null && !versions.some((d) => d.version === pinned) && <option value={String(pinned)}>v{pinned} (not found)</option>}
          {versions.map((d) => (
            <option key={d.id} value={String(d.version)}>
              v{d.version} · {d.n_rows.toLocaleString()} rows · {new Date(d.created_at).toLocaleDateString()}
            </option>
          ))}
        </select>
        {errors("version")}
        <div className="ed-help">
          {pinned === null
            ? "Each run loads the newest upload of this name, so uploading a new version changes what runs."
            : "Pinned: runs keep loading this version after new uploads."}
          {loaded && (
            <span className="ed-bounds">
              {" "}
              v{loaded.version}: {loaded.n_rows.toLocaleString()} rows × {loaded.columns?.length ?? 0} columns.
            </span>
          )}
        </div>
      </div>
    </>
  );
}

/** The saved connection a `dataset.sql` node queries, by name. */
function ConnectionSelect({
  id,
  value,
  connections,
  disabled,
  onChange,
}: {
  id: string;
  value: JsonValue | undefined;
  connections: Connection[] | null;
  disabled: boolean;
  onChange: (v: JsonValue | undefined) => void;
}) {
  if (connections === null) return <div className="ed-muted ed-small">Loading connections…</div>;
  const current = typeof value === "string" ? value : "";
  const known = connections.some((c) => c.name === current);
  return (
    <>
      <select id={id} value={current} disabled={disabled} onChange={(e) => onChange(e.target.value || undefined)}>
        <option value="">{connections.length ? "Choose a saved connection…" : "No connections saved yet"}</option>
        {current && !known && <option value={current}>{current} (not found)</option>}
        {connections.map((c) => (
          <option key={c.id} value={c.name}>
            {c.name} · {c.user}@{c.host}/{c.database}
          </option>
        ))}
      </select>
      <div className="ed-help ed-help-soft">
        {connections.length ? "Connections of this pipeline's workspace; add one on the " : "Save a database connection on the "}
        <a href="/datasets/#connections" target="_blank" rel="noreferrer">
          Datasets page
        </a>
        .
      </div>
    </>
  );
}
