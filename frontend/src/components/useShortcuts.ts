import { useEffect } from "react";
import { save } from "../remote";
import { useEditor } from "../store";

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  const tag = el.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
}

/** Editor-wide keyboard shortcuts (see HelpDialog for the list). */
export function useShortcuts(): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const s = useEditor.getState();
      const mod = e.ctrlKey || e.metaKey;
      const key = e.key.toLowerCase();
      if (mod && key === "s") {
        e.preventDefault();
        void save();
        return;
      }
      if (e.key === "Escape") {
        if (s.manage) s.setManage(null);
        else if (s.helpOpen) s.setHelpOpen(false);
        else if (s.historyOpen) s.setHistoryOpen(false);
        return;
      }
      if (isTyping(e.target)) return;
      if (mod && key === "z") {
        e.preventDefault();
        if (e.shiftKey) s.redo();
        else s.undo();
      } else if (mod && key === "y") {
        e.preventDefault();
        s.redo();
      } else if (mod && key === "c") {
        if (s.copySelection()) e.preventDefault();
      } else if (mod && key === "v") {
        if (s.paste()) e.preventDefault();
      } else if (!mod && (e.key === "Delete" || e.key === "Backspace")) {
        e.preventDefault();
        s.deleteSelection();
      } else if (e.key === "?") {
        s.setHelpOpen(!s.helpOpen);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}
