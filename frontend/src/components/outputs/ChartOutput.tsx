import { OutputTitle, type OutputProps } from "./common";

/** kind "chart": a Vega-Lite spec, summarised until a chart library is bundled. */
export function ChartOutput({ port, type, values }: OutputProps) {
  const data = values.data as { values?: unknown[] } | undefined;
  const title = typeof values.title === "string" ? values.title : (values.title as { text?: string })?.text;
  const mark = typeof values.mark === "string" ? values.mark : (values.mark as { type?: string })?.type;
  return (
    <section className="ed-out-section" data-testid={`output-${port}`}>
      <OutputTitle port={port} type={type} />
      <p className="ed-muted ed-small">
        {title ? `${title}: ` : ""}
        {mark ? `a ${mark} chart of ` : ""}
        {data?.values?.length ?? 0} points.
      </p>
    </section>
  );
}
