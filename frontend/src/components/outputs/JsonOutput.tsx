import { formatMetric } from "../../format";
import { OutputTitle, type OutputProps } from "./common";

/** Any kind without a renderer of its own: scalar fields as rows, nested values as JSON. */
export function JsonOutput({ port, type, values }: OutputProps) {
  const entries = Object.entries(values);
  const scalars = entries.filter(([, v]) => v === null || typeof v !== "object");
  const nested = entries.filter(([, v]) => v !== null && typeof v === "object");
  return (
    <section className="ed-out-section" data-testid={`output-${port}`}>
      <OutputTitle port={port} type={type} />
      {scalars.length > 0 && (
        <table className="ed-kv">
          <tbody>
            {scalars.map(([k, v]) => (
              <tr key={k}>
                <th>{k.replace(/_/g, " ")}</th>
                <td>{typeof v === "number" ? formatMetric(v) : String(v)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {nested.length > 0 && <pre className="ed-logs">{JSON.stringify(Object.fromEntries(nested), null, 2)}</pre>}
    </section>
  );
}
