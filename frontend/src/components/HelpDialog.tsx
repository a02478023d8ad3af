import { useEditor } from "../store";
import { Icon } from "./Icon";

const SHORTCUTS: [string, string][] = [
  ["Ctrl + S", "Save"],
  ["Ctrl + Z", "Undo"],
  ["Ctrl + Shift + Z  /  Ctrl + Y", "Redo"],
  ["Ctrl + C  /  Ctrl + V", "Copy / paste the selected blocks"],
  ["Delete  /  Backspace", "Delete the selection"],
  ["Shift + drag", "Select several blocks with a box"],
  ["Ctrl + click", "Add a block to the selection"],
  ["Double-click a block title", "Rename the block"],
  ["Enter or double-click in the block list", "Add the block to the middle of the canvas"],
  ["Scroll  /  drag the background", "Zoom / pan"],
  ["?", "Show this help"],
  ["Esc", "Close dialogs"],
];

export function HelpDialog() {
  const open = useEditor((s) => s.helpOpen);
  if (!open) return null;
  const close = () => useEditor.getState().setHelpOpen(false);
  return (
    <div className="ed-overlay ed-overlay--center" onMouseDown={(e) => e.target === e.currentTarget && close()}>
      <div className="ed-dialog" role="dialog" aria-label="Keyboard shortcuts" data-testid="help-dialog">
        <div className="ed-drawer-head">
          <h2>Keyboard shortcuts</h2>
          <button className="ed-icon-btn" onClick={close} aria-label="Close">
            <Icon name="close" />
          </button>
        </div>
        <table className="ed-shortcuts">
          <tbody>
            {SHORTCUTS.map(([keys, what]) => (
              <tr key={keys}>
                <td>
                  {keys.split(/(\s+\/\s+|\s\+\s)/).map((part, i) =>
                    /^\s/.test(part) ? (
                      <span key={i} className="ed-muted">
                        {part}
                      </span>
                    ) : (
                      <kbd key={i}>{part}</kbd>
                    ),
                  )}
                </td>
                <td>{what}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <p className="ed-muted ed-small">On a Mac, use ⌘ instead of Ctrl.</p>
      </div>
    </div>
  );
}
