import { useEffect } from "react";
import { useEditor } from "../store";

export function Toast() {
  const toast = useEditor((s) => s.toast);
  const dismiss = useEditor((s) => s.dismissToast);
  useEffect(() => {
    if (!toast) return;
    const t = setTimeout(dismiss, toast.kind === "error" ? 6000 : 3500);
    return () => clearTimeout(t);
  }, [toast, dismiss]);
  if (!toast) return null;
  return (
    <div
      key={toast.id}
      className={`ed-toast ed-toast--${toast.kind}`}
      role={toast.kind === "error" ? "alert" : "status"}
      data-testid="toast"
    >
      <span>{toast.message}</span>
      <button className="ed-toast-close" onClick={dismiss} aria-label="Dismiss">
        ×
      </button>
    </div>
  );
}
