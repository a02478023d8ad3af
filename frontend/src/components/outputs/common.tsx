import type { ReactNode } from "react";
import type { OutputValues } from "./kinds";

/** What every output renderer gets: the port, its type and the output's summary values. */
export interface OutputProps {
  port: string;
  type: string;
  values: OutputValues;
}

/** "Output <port> <type chip>" plus anything the renderer adds (counts …). */
export function OutputTitle({ port, type, children }: { port: string; type: string; children?: ReactNode }) {
  return (
    <h3>
      Output <code>{port}</code> {type && <span className="ed-chip">{type}</span>}
      {children}
    </h3>
  );
}
