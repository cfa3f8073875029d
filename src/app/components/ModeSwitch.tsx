/** Photo or video: which input the editor works on (the other keeps what it has). */
import { runBusy, useApp } from '../store';

export function ModeSwitch() {
  const mode = useApp((s) => s.mode);
  const setMode = useApp((s) => s.setMode);
  const busy = useApp(runBusy);
  return (
    <fieldset className="mode-switch" disabled={busy}>
      <legend className="visually-hidden">Edit a photo or a video</legend>
      {(['photo', 'video'] as const).map((m) => (
        <label key={m} className={`radio-card${mode === m ? ' checked' : ''}`}>
          <input type="radio" name="mode" value={m} checked={mode === m} onChange={() => setMode(m)} />
          <span className="radio-title">{m === 'photo' ? 'Photo' : 'Video'}</span>
        </label>
      ))}
    </fieldset>
  );
}
