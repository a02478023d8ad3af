import { OutputTitle, type OutputProps } from "./common";

/** kind "object": an estimator chain or a fitted model, step by step. */
export function ObjectOutput({ port, type, values }: OutputProps) {
  const steps = (values.steps as { name: string; class: string }[] | undefined) ?? [];
  const classes = values.classes as unknown[] | undefined;
  const plan = (values.plan as string[] | undefined) ?? [];
  return (
    <section className="ed-out-section" data-testid={`output-${port}`}>
      <OutputTitle port={port} type={type} />
      <ol className="ed-steps">
        {steps.map((st, i) => (
          <li key={i}>
            <code>{st.class}</code>
          </li>
        ))}
      </ol>
      {classes && classes.length > 0 && <p className="ed-muted ed-small">Classes: {classes.map(String).join(", ")}</p>}
      {plan.length > 0 && (
        <details open data-testid="column-plan">
          <summary className="ed-small">Column plan</summary>
          <ul className="ed-small">
            {plan.map((line, i) => (
              <li key={i}>{line}</li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}
