import type { JsonValue } from "../../types";
import { cell } from "./kinds";
import { OutputTitle, type OutputProps } from "./common";

interface Column {
  name: string;
  dtype: string;
}

/** kind "table": row and column counts, typed headers and the first 20 rows. */
export function TableOutput({ port, type, values }: OutputProps) {
  const cols = (values.columns as Column[] | undefined) ?? [];
  const preview = values.preview as JsonValue[][] | undefined;
  const rows = values.rows as number | undefined;
  return (
    <section className="ed-out-section" data-testid={`output-${port}`}>
      <OutputTitle port={port} type={type}>
        {rows != null && (
          <span className="ed-muted ed-small">
            {" "}
            {rows.toLocaleString()} rows × {cols.length} columns
          </span>
        )}
      </OutputTitle>
      {preview && cols.length > 0 ? (
        <div className="ed-scroll ed-preview">
          <table className="ed-table" data-testid="table-preview">
            <thead>
              <tr>
                {cols.map((c) => (
                  <th key={c.name} title={`${c.name} (${c.dtype})`}>
                    <div className="ed-col-name">{c.name}</div>
                    <div className="ed-col-type">{c.dtype}</div>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {preview.slice(0, 20).map((row, i) => (
                <tr key={i}>
                  {row.map((v, j) => (
                    <td key={j}>{cell(v)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        cols.length > 0 && (
          <div className="ed-col-list">
            {cols.map((c) => (
              <span key={c.name} className="ed-chip">
                {c.name} <span className="ed-muted">{c.dtype}</span>
              </span>
            ))}
          </div>
        )
      )}
    </section>
  );
}
