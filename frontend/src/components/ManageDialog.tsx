import { useEffect, useRef, useState, type FormEvent } from "react";
import { deletePipeline, duplicatePipeline, renamePipeline } from "../remote";
import { useEditor } from "../store";
import { Icon } from "./Icon";

const TEXT = {
  rename: { title: "Rename the pipeline", confirm: "Rename", busy: "Renaming…" },
  duplicate: { title: "Duplicate the pipeline", confirm: "Duplicate and open", busy: "Duplicating…" },
  delete: { title: "Delete the pipeline?", confirm: "Delete", busy: "Deleting…" },
} as const;

/** Rename, duplicate or delete the open pipeline: a name to type or a confirmation, and the server's refusal if any. */
export function ManageDialog() {
  const action = useEditor((s) => s.manage);
  const name = useEditor((s) => s.pipeline?.name ?? "");
  const [value, setValue] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const confirm = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    setValue(action === "rename" ? name : "");
    setError(null);
    setBusy(false);
    if (action === "delete") confirm.current?.focus();
    else input.current?.select();
  }, [action, name]);

  if (!action) return null;
  const text = TEXT[action];
  const close = () => useEditor.getState().setManage(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const typed = value.trim();
    if (action === "rename" && !typed) return setError("Type a name.");
    setBusy(true);
    const refusal =
      action === "rename" ? await renamePipeline(typed) : action === "duplicate" ? await duplicatePipeline(typed) : await deletePipeline();
    setBusy(false);
    if (refusal) return setError(refusal);
    if (action === "rename") {
      close();
      useEditor.getState().showToast(`Renamed to ${typed}`, "success");
    }
  };

  return (
    <div className="ed-overlay ed-overlay--center" onMouseDown={(e) => e.target === e.currentTarget && close()}>
      <form className="ed-dialog ed-manage" role="dialog" aria-label={text.title} data-testid="manage-dialog" onSubmit={submit}>
        <div className="ed-drawer-head">
          <h2>{text.title}</h2>
          <button type="button" className="ed-icon-btn" onClick={close} aria-label="Close">
            <Icon name="close" />
          </button>
        </div>
        {action === "delete" ? (
          <p>
            <strong>{name}</strong> is deleted with its runs and saved versions. This cannot be undone. A pipeline that trained
            registered models is kept, and you are told which.
          </p>
        ) : (
          <>
            {action === "duplicate" && <p>The copy gets this pipeline's saved draft as its version 1, without the runs.</p>}
            <label className="ed-manage-field">
              Name
              <input
                ref={input}
                type="text"
                maxLength={200}
                value={value}
                placeholder={action === "duplicate" ? `${name} (copy)` : "new name"}
                onChange={(e) => setValue(e.target.value)}
                data-testid="manage-name"
              />
            </label>
          </>
        )}
        {error && (
          <div className="ed-manage-error" role="alert" data-testid="manage-error">
            {error}
          </div>
        )}
        <div className="ed-manage-buttons">
          <button type="button" className="ed-btn" onClick={close}>
            Cancel
          </button>
          <button
            ref={confirm}
            type="submit"
            className={`ed-btn ${action === "delete" ? "ed-btn-danger" : "ed-btn-primary"}`}
            disabled={busy}
            data-testid="manage-confirm"
          >
            {busy ? text.busy : text.confirm}
          </button>
        </div>
      </form>
    </div>
  );
}
